// fuzz_registrations.cc with its entry point renamed, for corpus_replay_test.cc.
#define LLVMFuzzerTestOneInput FuzzRegistrationsOneInput
#include "tests/fuzz/fuzz_registrations.cc"
