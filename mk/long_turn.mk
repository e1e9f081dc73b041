# long-turn (shim/long_turn.c): a python process sleeps inside its write transaction while another
# waits; the waiter must log one long-turn line naming it, and `lockfix stats` / `lockfix doctor`
# must report it (about 8 s).
.PHONY: long-turn-test
long-turn-test: all
	$(firstword $(wildcard /usr/bin/python3) python3) tests/long_turn/test_long_turn.py \
		$(SHIM_LIB) $(BUILD)/lockfix
test: long-turn-test
