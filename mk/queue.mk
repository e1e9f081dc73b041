# The writer queue's crash behaviour (issue 5): writers killed with SIGKILL mid-run.
#   make bench-kill   the measured run (documented in docs/benchmarks.md)
#   make kill-test    a short run in `make test`: asserts survivors finish and nothing committed is
#                     lost (no timing is asserted)
.PHONY: bench-kill kill-test

bench-kill: $(SHIM_LIB)
	bench/kill-writers --writers 8 --hold-ms 5 --every 50 --kills 10 --txns 60

kill-test: $(SHIM_LIB)
	bench/kill-writers --writers 6 --hold-ms 2 --every 30 --kills 4 --txns 40 --queue on

bench: bench-kill
test: kill-test
