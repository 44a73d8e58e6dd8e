// fuzz_validation.cc with its entry point renamed, for corpus_replay_test.cc.
#define LLVMFuzzerTestOneInput FuzzValidationOneInput
#include "tests/fuzz/fuzz_validation.cc"
