// fuzz_render.cc with its entry point renamed, for corpus_replay_test.cc.
#define LLVMFuzzerTestOneInput FuzzRenderOneInput
#include "tests/fuzz/fuzz_render.cc"
