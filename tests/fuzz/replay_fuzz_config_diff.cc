// fuzz_config_diff.cc with its entry point renamed, for corpus_replay_test.cc.
#define LLVMFuzzerTestOneInput FuzzConfigDiffOneInput
#include "tests/fuzz/fuzz_config_diff.cc"
