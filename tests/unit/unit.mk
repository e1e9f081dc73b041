# The unit-test targets (unit, unit-sqlite) are defined in mk/unit.mk, which the top Makefile
# includes. This file only exists so tests/tests.mk does not define its placeholder `unit` rule.
