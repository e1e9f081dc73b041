/*
 * A preload library that does nothing: the wrapper tests put it in LD_PRELOAD first and check
 * that lockfix keeps it (in front of the shim) instead of replacing the user's list.
 */
int lockfix_test_dummy_preload = 1;
