<?php
// Read-modify-write workload through PHP's SQLite3 class (or PDO_SQLITE), with its defaults.
//
// Usage: php rmw.php DB N [HOLD_MS [WRITER_ID]]     (RMW_PHP_API=pdo uses PDO instead)
//
// Runs N transactions of
//   BEGIN; SELECT v FROM counter WHERE id=1; (sleep HOLD_MS);
//   UPDATE counter SET v=<v read>+1 WHERE id=1; INSERT INTO log(writer, i) VALUES(?, ?); COMMIT
// SQLite3: exec() for BEGIN/COMMIT, querySingle() for the SELECT, prepared statements with
// bindValue() for the UPDATE and INSERT; no busyTimeout() call (so 0), warnings not exceptions
// (the class's default), a plain deferred BEGIN.
// PDO: PDO::ERRMODE_EXCEPTION (PHP 8's default), exec() for BEGIN/COMMIT, prepare()/execute();
// PDO_SQLITE's own default busy timeout (60 s) is left as it is.
// A failed transaction is rolled back and counted; errors containing "database is locked" are
// counted separately. The only stdout line is `ok=N failed=M locked=L`.

if ($argc < 3) {
    fwrite(STDERR, "usage: rmw.php DB N [HOLD_MS [WRITER_ID]]\n");
    exit(2);
}
$path = $argv[1];
$n = (int)$argv[2];
$hold = $argc > 3 ? (int)$argv[3] : 0;
$writer = $argc > 4 ? (int)$argv[4] : 0;
$verbose = getenv("RMW_VERBOSE") !== false;
$api = getenv("RMW_PHP_API") ?: "sqlite3";

// The SQLite3 class reports failures as E_WARNING plus a false return; keep them off stderr
// (they are counted instead) unless RMW_VERBOSE is set.
if (!$verbose) {
    error_reporting(E_ALL & ~E_WARNING);
}

$ok = $failed = $locked = 0;

if ($api === "pdo") {
    $db = new PDO("sqlite:" . $path);
    $db->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);
    for ($i = 0; $i < $n; $i++) {
        try {
            $db->exec("BEGIN");
            $v = $db->query("SELECT v FROM counter WHERE id=1")->fetchColumn();
            if ($v === false) {
                throw new RuntimeException("no counter row");
            }
            if ($hold > 0) {
                usleep($hold * 1000);
            }
            $db->prepare("UPDATE counter SET v=? WHERE id=1")->execute([(int)$v + 1]);
            $db->prepare("INSERT INTO log(writer, i) VALUES(?, ?)")->execute([$writer, $i]);
            $db->exec("COMMIT");
            $ok++;
        } catch (Exception $e) {
            $failed++;
            if (strpos($e->getMessage(), "database is locked") !== false) {
                $locked++;
            }
            if ($verbose) {
                fwrite(STDERR, "rmw.php: transaction $i failed: " . $e->getMessage() . "\n");
            }
            // PDO::inTransaction() only knows of beginTransaction(), not an exec'd BEGIN: end
            // the transaction the failure left open; "no transaction is active" means none was.
            try {
                $db->exec("ROLLBACK");
            } catch (Exception $e2) {
                if (strpos($e2->getMessage(), "no transaction is active") === false) {
                    fwrite(STDERR, "rmw.php: rollback failed: " . $e2->getMessage() . "\n");
                }
            }
        }
    }
    $db = null;
} else {
    $db = new SQLite3($path);
    for ($i = 0; $i < $n; $i++) {
        $err = null;
        if (!$db->exec("BEGIN")) {
            $err = $db->lastErrorMsg();
        } else {
            $v = $db->querySingle("SELECT v FROM counter WHERE id=1");
            if ($v === false || $v === null) {
                $err = $v === null ? "no counter row" : $db->lastErrorMsg();
            } else {
                if ($hold > 0) {
                    usleep($hold * 1000);
                }
                $upd = $db->prepare("UPDATE counter SET v=:v WHERE id=1");
                if ($upd === false) {
                    $err = $db->lastErrorMsg();
                } else {
                    $upd->bindValue(":v", $v + 1, SQLITE3_INTEGER);
                    if ($upd->execute() === false) {
                        $err = $db->lastErrorMsg();
                    }
                    $upd->close();
                }
                if ($err === null) {
                    $ins = $db->prepare("INSERT INTO log(writer, i) VALUES(:w, :i)");
                    if ($ins === false) {
                        $err = $db->lastErrorMsg();
                    } else {
                        $ins->bindValue(":w", $writer, SQLITE3_INTEGER);
                        $ins->bindValue(":i", $i, SQLITE3_INTEGER);
                        if ($ins->execute() === false) {
                            $err = $db->lastErrorMsg();
                        }
                        $ins->close();
                    }
                }
                if ($err === null && !$db->exec("COMMIT")) {
                    $err = $db->lastErrorMsg();
                }
            }
        }
        if ($err === null) {
            $ok++;
            continue;
        }
        $failed++;
        if (strpos($err, "database is locked") !== false) {
            $locked++;
        }
        if ($verbose) {
            fwrite(STDERR, "rmw.php: transaction $i failed: $err\n");
        }
        // End the transaction the failure left open; "no transaction is active" means none was.
        if (!$db->exec("ROLLBACK") && strpos($db->lastErrorMsg(), "no transaction is active") === false) {
            fwrite(STDERR, "rmw.php: rollback failed: " . $db->lastErrorMsg() . "\n");
        }
    }
    $db->close();
}
echo "ok=$ok failed=$failed locked=$locked\n";
