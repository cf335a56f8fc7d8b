// StepTeam (src/nn/rnn_team.h), the barrier of the fused time loops: (1) as a barrier, every
// write of a phase is visible to every member after the sync, also when members sleep in it;
// (2) the switch to solo mid-sequence (what happens when a partner thread is descheduled) gives
// bitwise the same outputs and gradients as the full team, wherever in the sequence it happens.
#include <gtest/gtest.h>

#include "kernels/simd_targets.h"

#include <chrono>
#include <thread>
#include <vector>

#include "nn/rnn_direction.h"
#include "nn/rnn_team.h"
#include "nn/rnn_test_util.h"
#include "recurrent/core/threads.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

// Two members write their slot, sync, then each checks the other's write of the same phase. One
// member sleeps now and then before arriving, so the other passes from spinning to sleeping.
TEST(StepTeam, SyncPublishesEveryPhase) {
  constexpr int kPhases = 400;
  std::vector<int> slot(2, -1);
  std::vector<int> bad(2, 0);
  rnn::StepTeam team(2, /*may_go_solo=*/false);  // the machine may be loaded: no detection here
  auto member = [&](int tid) {
    for (int ph = 0; ph < kPhases; ++ph) {
      if (tid == 1 && ph % 50 == 7) std::this_thread::sleep_for(std::chrono::microseconds(200));
      slot[tid] = ph;
      team.sync(tid);
      if (slot[1 - tid] != ph) ++bad[tid];
      team.sync(tid);  // nobody writes phase ph+1 before both have read phase ph
    }
    team.finish(tid);
  };
  std::thread other(member, 1);
  member(0);
  other.join();
  EXPECT_EQ(bad[0], 0);
  EXPECT_EQ(bad[1], 0);
  EXPECT_FALSE(team.solo());
}

TEST(StepTeam, ForcedSoloHandsEveryBlockToThreadZero) {
  rnn::StepTeam::force_solo_at(2);
  rnn::StepTeam team(2, /*may_go_solo=*/false);  // forced only: no detection on a loaded machine
  rnn::StepTeam::force_solo_at(0);
  int64_t b0 = 0, b1 = 0;
  team.span(1, 5, b0, b1);
  EXPECT_EQ(b0, 2);
  EXPECT_EQ(b1, 5);
  std::thread other([&] {
    team.sync(1);
    team.sync(1);
    EXPECT_TRUE(team.solo());
    int64_t c0, c1;
    team.span(1, 5, c0, c1);
    EXPECT_EQ(c0, c1);  // thread 1 owns nothing: it leaves
    team.finish(1);     // sleeps until thread 0 is done
  });
  team.sync(0);
  EXPECT_FALSE(team.solo());
  team.sync(0);
  EXPECT_TRUE(team.solo());
  team.span(0, 5, b0, b1);
  EXPECT_EQ(b0, 0);
  EXPECT_EQ(b1, 5);
  team.finish(0);
  other.join();
}

// A partner late at the FIRST sync is starting up (an OpenMP worker woken from sleep), not descheduled:
// the team stays whole. (Only the first sync: later ones may see a real lost time slice on a loaded machine.)
TEST(StepTeam, LateStartDoesNotGoSolo) {
  rnn::StepTeam team(2, /*may_go_solo=*/true);
  std::thread other([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // > kSoloAfterNs: solo, were it counted
    team.sync(1);
    team.finish(1);
  });
  team.sync(0);
  EXPECT_FALSE(team.solo());
  team.finish(0);
  other.join();
}

// Outputs and every input gradient of one forward + backward (fast engine) on 2 threads.
std::vector<Tensor> run_case(const RnnCase& c) {
  RnnHarness h(c);
  std::vector<Tensor> in = h.inputs();
  std::vector<Var> vars;
  for (auto& t : in) vars.emplace_back(t, true);
  Var out = h.run(vars);
  Rng r(5);
  out.backward(random_tensor(out.shape(), r));
  std::vector<Tensor> res{out.value()};
  for (auto& v : vars) res.push_back(v.grad());
  return res;
}

void expect_identical(const std::vector<Tensor>& a, const std::vector<Tensor>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    const Tensor x = a[k].contiguous(), y = b[k].contiguous();
    ASSERT_EQ(x.numel(), y.numel());
    int64_t diff = 0;
    for (int64_t i = 0; i < x.numel(); ++i) diff += x.data()[i] != y.data()[i];
    EXPECT_EQ(diff, 0) << what << ": tensor " << k << " differs in " << diff << " elements";
  }
}

// H = 70: 3 blocks of 32 units (2 threads own 1 + 2); T = 6. Each loop (forward, backward) has its own
// team, which syncs once after packing its panels, then once per step (1 + 6 syncs), or twice per step
// for Cho's GRU and an LSTM with projection (1 + 12). Forcing solo at sync k hands thread 1's blocks to
// thread 0 from there on (k = 10: only the two-phase loops get there).
TEST(StepTeam, SoloMidSequenceIsBitwiseTheSame) {
  const int saved = num_threads();
  set_num_threads(2);
  struct Case {
    CellType cell;
    int64_t proj;  // LSTM projection size P (40: h in 2 blocks, 32 + 8; 20: 1 block, one thread owns none), or 0
  };
  for (const Case& k : {Case{CellType::lstm, 0}, Case{CellType::lstm_peephole, 0}, Case{CellType::gru, 0},
                        Case{CellType::rnn_relu, 0}, Case{CellType::gru_simple, 0}, Case{CellType::gru_cho, 0},
                        Case{CellType::lstm_peephole, 40}, Case{CellType::lstm, 20}}) {
    const std::string name = std::string(cell_name(k.cell)) + (k.proj ? " P=" + std::to_string(k.proj) : "");
    const RnnCase c{RNNOptions::uniform(k.cell, 5, 70, 1, true, k.proj), 6, 9, {6, 2, 5, 6, 1, 6, 3, 6, 4}, true, name};
    const std::vector<Tensor> full = run_case(c);
    for (int64_t at : {1, 3, 6, 10}) {
      rnn::StepTeam::force_solo_at(at);
      const std::vector<Tensor> solo = run_case(c);
      rnn::StepTeam::force_solo_at(0);
      expect_identical(full, solo, name + " solo at sync " + std::to_string(at));
    }
  }
  set_num_threads(saved);
}

// The fused forward loop of the one-phase cells can give each thread its own batch rows instead of
// its own hidden units (rnn_fused.cpp, split_forward_by_rows). B = 19 on 2 threads: rows 0-7 and
// 8-18 (an 8-row block and a 3-row tail on thread 1, as on one thread); H = 70 (masked tail
// block); lengths and h0. Both splits (and the backward that reads the forward's tape) must
// agree bitwise; a forced solo at the first sync (after packing) hands every row to thread 0.
// On every SIMD target (register blocks of 8 or 6 rows: B = 19 cuts 9 + 10 rows either way).
TEST(ForwardSplit, RowsAndUnitsAreBitwiseTheSame) {
  const int saved = num_threads();
  set_num_threads(2);
  for (int64_t target : simd::cpu_targets())
  for (CellType cell : {CellType::lstm, CellType::lstm_peephole, CellType::gru, CellType::rnn_tanh,
                        CellType::gru_simple}) {
    const recurrent::testing::ScopedTarget scope(target);
    const std::string name = std::string(cell_name(cell)) + " " + simd::target_name(target);
    const RnnCase c{RNNOptions::uniform(cell, 5, 70, 1, true), 6, 19,
                    {6, 2, 5, 6, 1, 6, 3, 6, 4, 6, 6, 5, 1, 2, 6, 6, 3, 6, 6}, true, name};
    struct Restore {  // the forcing hooks are global: undo them even if a case throws
      ~Restore() {
        rnn::StepTeam::force_solo_at(0);
        rnn::force_forward_split(0);
      }
    } restore;
    // A natural solo earlier (a loaded machine) would leave the back-off running these on one
    // thread, where both splits are trivially the same: start each with a full team and check.
    // (Bidirectional: two forward teams per case; on a loaded machine the second may start on one
    // thread after the first went solo, so each split must have run at least once.)
    rnn::StepTeam::reset_backoff();
    rnn::forward_split_runs(false, true);
    rnn::forward_split_runs(true, true);
    rnn::force_forward_split(-1);
    const std::vector<Tensor> units = run_case(c);
    EXPECT_GE(rnn::forward_split_runs(false, true), 1) << name << ": the unit split did not run on 2 threads";
    rnn::StepTeam::reset_backoff();
    rnn::force_forward_split(1);
    const std::vector<Tensor> rows = run_case(c);
    EXPECT_GE(rnn::forward_split_runs(true, true), 1) << name << ": the row split did not run on 2 threads";
    rnn::StepTeam::reset_backoff();
    rnn::StepTeam::force_solo_at(1);
    const std::vector<Tensor> solo = run_case(c);
    rnn::StepTeam::force_solo_at(0);
    rnn::force_forward_split(0);
    expect_identical(units, rows, name + " rows vs units");
    expect_identical(units, solo, name + " rows, solo after packing");
  }
  set_num_threads(saved);
}

}  // namespace
