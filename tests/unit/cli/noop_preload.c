/* A shared library that does nothing: what `credtrace run` tests and the start-up benchmark put in LD_PRELOAD. */
int credtrace_test_noop_preload(void) { return 0; }
