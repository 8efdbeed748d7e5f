// Fixture for the calibrated-method tests: stories260K (F32) and 4 calibration windows of 64 tokens
// from the first 200 TinyStories, picked with the fixture's seed; skips when ../shared lacks them.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/model_file.hpp"
#include "quant/calib_data.hpp"
#include "test_util.hpp"

namespace lowbit::test {

inline const std::string k_stories_model = "models/stories260K/stories260K-f32.gguf";
inline const std::string k_stories_text = "data/tinystories_valid_first200.txt";

class Stories260KCalib : public ::testing::Test {
protected:
    explicit Stories260KCalib(uint64_t seed) : seed_(seed) {}
    void SetUp() override {
        if (!file_exists(shared_path(k_stories_model)) || !file_exists(shared_path(k_stories_text)))
            GTEST_SKIP() << "shared model/text missing";
        m_ = load_model(shared_path(k_stories_model));
        calib_options co;
        co.text_path = shared_path(k_stories_text);
        co.n_seq = 4;
        co.seq_len = 64;
        co.seed = seed_;
        seqs_ = calib_sequences(m_, co);
    }
    uint64_t seed_;
    model_data m_;
    std::vector<std::vector<int32_t>> seqs_;
};

}  // namespace lowbit::test
