// One direction of one recurrent layer over a whole sequence: the fast forward and the explicit
// backpropagation through time (BPTT). Internal to src/nn; the RNN module builds on it.
//
// Dimension legend: T steps, B batch, I input size, H hidden, R = size of h (P with projection,
// else H), G gates (rnn 1, gru_simple 2, gru* 3, lstm* 4). All buffers are row-major float32.
//   x: [T, B, I]   y: [T*B rows, ldy] (this direction's columns)   h0, h_n: [B, R]   c0, c_n: [B, H]
//
// Structure (what cuDNN and oneDNN do):
//   forward  1 GEMM  A[T*B, GH] = X W_ihᵀ + biases             (input projection for all steps)
//            per step: 1 GEMM A_t += h_{t-1} W_hhᵀ (all gates at once), 1 fused gate/state pass
//            (fused loops, fp32, B ≥ 8: no GEMM before; per step A_t = [x_t | h_{t-1}] [W_ih ; W_hh]ᵀ,
//            fold_input below)
//   backward per step: 1 fused pass → dA_t, 1 GEMM dh_{t-1} = dA_t W_hh (+ elementwise part)
//            at the end: dW_ih = dAᵀ X, dX = dA W_ih, dW_hh = dAᵀ H_prev: 1 GEMM each, all steps.
// Cells with extra products (projection W_hr, Cho's reset-before-matmul W_hn) add one GEMM each.
//
// State slots: hs holds T+1 states. Forward direction: slot 0 = h0, slot t+1 = state after step t.
// Reverse direction: slot T = h0, slot t = state after step t. So for time t, prev = t + rev,
// new = t + 1 - rev, and the T "previous" states of all steps are the contiguous slots
// [rev, T + rev): the weight-gradient GEMM reads them in place.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "recurrent/core/rng.h"
#include "recurrent/core/tensor.h"
#include "recurrent/nn/rnn_probe.h"
#include "recurrent/nn/rnn_types.h"

namespace recurrent::rnn {

struct DirShape {
  CellType cell;
  int64_t T, B, I, H, R;
  bool reverse;
  Precision precision = Precision::fp32;  // bf16: the fused loops' products take bf16 operands (rnn_types.h)
  EngineConfig engine{};  // the engine's choices (resolve_engine: target never 0 once resolved; 0 = default)
  int64_t G() const { return gate_count(cell); }
};

// The model's engine config over the process default, with the target resolved (rnn_engine.cpp).
EngineConfig resolve_engine(const EngineConfig& model);

// What identifies a weight's values (recurrent/core/tensor.h): its storage's process-unique id and
// write counter, and the element pointer (a view's offset). Empty (all 0) = unknown.
struct WeightStamp {
  const float* ptr = nullptr;
  uint64_t id = 0, version = 0;
  static WeightStamp of(const Tensor& t) { return {t.data(), t.storage_id(), t.version()}; }
  bool operator==(const WeightStamp&) const = default;
};

class PanelCache;  // rnn_panel_cache.h

// lstm_bn's per-time-step population statistics (the model's bn_running_* buffers), S ≥ 1 steps: time t uses
// step min(t, S-1) (Cooijmans et al. 2016: beyond the longest training length, the last step's).
//   mean_ih, var_ih, mean_hh, var_hh [S, G*H]   mean_c, var_c [S, H]   (var: unbiased, as torch's running_var)
struct BnRunning {
  int64_t S = 0;
  const float *mean_ih = nullptr, *var_ih = nullptr, *mean_hh = nullptr, *var_hh = nullptr;
  const float *mean_c = nullptr, *var_c = nullptr;
};
// Width of one step's row of DirTape::bn_batch: mean_ih, var_ih, mean_hh, var_hh [G*H], mean_c, var_c [H].
inline int64_t bn_batch_width(int64_t GH, int64_t H) { return 4 * GH + 2 * H; }

// Contiguous parameters of one (layer, direction); biases/w_hr/w_ch may be null.
struct DirParams {
  const float* w_ih;  // [G*H, I]
  const float* w_hh;  // [G*H, R]
  const float* b_ih;  // [G*H]
  const float* b_hh;  // [G*H]
  const float* w_hr;  // [P, H]   LSTM projection
  const float* w_ch;  // [3, H]   LSTM peephole (i, f, o)
  // The fused forward loop's packed panels kept across calls (rnn_panel_cache.h); null: packed per call.
  // With a cache, the stamps of w_ih, w_hh and w_hr (where present) must be set: they key its entries.
  PanelCache* cache = nullptr;
  WeightStamp s_ih{}, s_hh{}, s_hr{};
  const float* lambda = nullptr;  // [H] RG-LRU's Λ (decay cells; scan cells have no w_hh, b_hh)
  // Regularisers inside the recurrence (docs/cells.md; the fused loops and the reference, not the per-step path):
  //   rmask [B, R]: recurrent dropout, h_{t-1} ⊙ rmask is what W_hh multiplies (0 or 1/(1-p)); null: none.
  //   zoneout > 0: zmask [T, B, H] (1: unit j of row b keeps its previous h (and c) at time t), or null: the
  //   expectation h_t = p h_{t-1} + (1-p) h̃_t (evaluation; the fused backward refuses it).
  const float* rmask = nullptr;
  const uint8_t* zmask = nullptr;
  float zoneout = 0.0f;
  // Layer-norm cells (lstm_ln, gru_ln): gains of the x and h sides [G*H]; LSTM: the c-norm's gain and bias [H].
  // lstm_bn: the same roles (γ_x, γ_h [G*H], γ_c, β_c [H]; the model's bn_weight_ih ... bn_bias_c).
  const float *ln_ih = nullptr, *ln_hh = nullptr, *ln_c = nullptr, *ln_cb = nullptr;
  // lstm_bn in evaluation: the population statistics to normalise with (null: training, the batch's own).
  const BnRunning* bn_running = nullptr;
};


// Gradients to add into; null where not wanted.
struct DirGrads {
  float* w_ih = nullptr;
  float* w_hh = nullptr;
  float* b_ih = nullptr;
  float* b_hh = nullptr;
  float* w_hr = nullptr;
  float* w_ch = nullptr;
  // Gradient lab (GradProbe in rnn.h), SET when non-null, indexed by time t (not by step order):
  //   dh_norm [T, B]: ‖dL/dh_t‖, the whole gradient reaching h_t (from y_t and from step t+1),
  //                 taken after dy_t is added and before step t is differentiated;
  //   dc_norm [T, B]: ‖dL/dc_t‖ carried into step t from step t+1 (LSTM; the part along the cell path).
  // Norms, not squares: a float square would underflow below 1e-19, long before the gradient does.
  // Padded rows record the gradient they carry through unchanged. Null: no cost but one branch per step.
  float* dh_norm = nullptr;
  float* dc_norm = nullptr;
  float* lambda = nullptr;  // [H] RG-LRU's Λ
  float *ln_ih = nullptr, *ln_hh = nullptr, *ln_c = nullptr, *ln_cb = nullptr;  // layer-norm cells' parameters
};

struct RefTape;  // the reference implementation's own record (rnn_reference.cpp)
struct BnTape;   // lstm_bn's double engine's record (rnn_bn.cpp)

// What forward keeps for backward. Bytes per token: 4·(G·H + R + [H: LSTM c] + [H: gru nh, cho r⊙h, proj m]).
struct DirTape {
  Tensor a;      // [T, B, G*H] gate activations (what every cell's derivative is a function of); [1, B, G*H] without a tape and the input folded
  Tensor hs;     // [T+1, B, R] states (slots as above)
  Tensor cs;     // [T+1, B, H] LSTM cell states
  Tensor extra;  // [T, B, H]   gru: W_hn h + b_hn ([1, B, H] without a tape); gru_cho: r ⊙ h_prev; LSTM with projection: o ⊙ tanh c
  Tensor hd;     // [T+1, B, R] recurrent dropout only: hs ⊙ rmask, the products' left operand (slots as hs)
  Tensor nx, nh, ln_stats;  // layer-norm cells: LN(X W_ihᵀ) (gru_ln; lstm_ln keeps it in a), LN(h_{t-1} W_hhᵀ)
                            // [T, B, G*H]; 1/σ_x, 1/σ_h, μ_c, 1/σ_c [T, B, 4]
  Tensor bn_batch;  // lstm_bn in training: [T, bn_batch_width] each time step's batch means and BIASED variances
                    // over the rows valid at t (what the model's running statistics are updated from); undefined in
                    // evaluation. Filled even without a tape (keep_tape = false).
  std::vector<uint8_t> valid;  // [T, B] 1 where t < length[b]; empty when all lengths are T
  std::shared_ptr<RefTape> ref;  // reference engine only
  std::shared_ptr<BnTape> bn;    // lstm_bn only (both engines)
  int64_t bytes() const;
};

// y receives h_t of valid steps and 0 on padded steps (accumulate: y += instead, for sum-merge).
// keep_tape = false (inference: nobody will call backward): the fused path may keep less (see
// fused_forward_loop's light mode); the tape is then not valid for backward.
void forward(const DirShape& s, const DirParams& p, const float* x, const uint8_t* valid_or_null, const float* h0,
             const float* c0, float* y, int64_t ldy, bool accumulate, float* h_n, float* c_n, DirTape& tape,
             bool keep_tape = true);

// dy: [T*B, ldy] (may be null); dh_n [B,R], dc_n [B,H] may be null. Consumes the tape: tape.a is
// overwritten with the pre-activation gradients (call once per forward). dx [T,B,I] is ADDED into
// (may be null); dh0/dc0 are SET (may be null); weight gradients are ADDED into g.
void backward(const DirShape& s, const DirParams& p, const float* x, DirTape& tape, const float* dy,
              int64_t ldy, const float* dh_n, const float* dc_n, float* dx, float* dh0, float* dc0,
              const DirGrads& g);

// Layer-norm cells (is_layer_norm): their whole forward / backward (rnn_fused_ln.cpp), same contract; fused only.
void ln_forward(const DirShape& s, const DirParams& p, const float* x, const uint8_t* valid_all, const float* h0,
                const float* c0, float* y, int64_t ldy, bool accumulate, float* h_n, float* c_n, DirTape& tape);
void ln_backward(const DirShape& s, const DirParams& p, const float* x, DirTape& tape, const float* dy, int64_t ldy,
                 const float* dh_n, const float* dc_n, float* dx, float* dh0, float* dc0, const DirGrads& g);

// lstm_bn (is_batch_norm), time step outermost (every step's statistics couple the batch's rows), same contract
// as forward/backward: bn_forward / bn_backward in double (rnn_bn.cpp; the reference engine, and the fast one
// where the fused loops are off), bn_fused_forward / bn_fused_backward in fp32 (rnn_fused_bn.cpp; the fast
// engine). In training (p.bn_running null) they fill tape.bn_batch; a training step with fewer than 2 valid rows
// normalises with a zero variance. Backward must be the forward's own engine (tape.bn: the double one).
void bn_forward(const DirShape& s, const DirParams& p, const float* x, const uint8_t* valid_all, const float* h0,
                const float* c0, float* y, int64_t ldy, bool accumulate, float* h_n, float* c_n, DirTape& tape);
void bn_backward(const DirShape& s, const DirParams& p, const float* x, DirTape& tape, const float* dy, int64_t ldy,
                 const float* dh_n, const float* dc_n, float* dx, float* dh0, float* dc0, const DirGrads& g);
void bn_fused_forward(const DirShape& s, const DirParams& p, const float* x, const uint8_t* valid_all, const float* h0,
                      const float* c0, float* y, int64_t ldy, bool accumulate, float* h_n, float* c_n, DirTape& tape);
void bn_fused_backward(const DirShape& s, const DirParams& p, const float* x, DirTape& tape, const float* dy,
                       int64_t ldy, const float* dh_n, const float* dc_n, float* dx, float* dh0, float* dc0,
                       const DirGrads& g);

// The plain step-by-step reference: same contract as forward/backward, scalar loops in double.
void reference_forward(const DirShape& s, const DirParams& p, const float* x, const uint8_t* valid_or_null,
                       const float* h0, const float* c0, float* y, int64_t ldy, bool accumulate, float* h_n,
                       float* c_n, DirTape& tape);
void reference_backward(const DirShape& s, const DirParams& p, const float* x, DirTape& tape, const float* dy,
                        int64_t ldy, const float* dh_n, const float* dc_n, float* dx, float* dh0, float* dc0,
                        const DirGrads& g);

// Gradient lab: gate means/saturation and state norms of a fast-engine forward, or with keep_states its
// h, gate activations and c (rnn_probe.cpp, include/recurrent/nn/rnn_probe.h).
void record_forward_stats(const DirShape& s, const DirTape& tape, GradProbe::Dir& out, bool keep_states = false);
// The fused time loops (rnn_fused_forward.cpp, rnn_fused_backward.cpp), used by forward/backward when
// fused_supported(): every cell and option (LSTM with peephole and/or projection, every GRU form, RNN
// tanh/ReLU) on every SIMD target, unless s.engine.fused < 0 (then the per-step path).
bool fused_supported(const DirShape& s);
// Recurrent dropout's mask m [n]: 0 with probability p, else 1/(1-p) (rnn_masks.cpp). Zoneout's z [n]: 1 with
// probability p (to 2^-16). Both from rng (the model's dropout stream), reproducibly.
void draw_dropout_mask(Rng& rng, float p, int64_t n, float* m);
void draw_zoneout_mask(Rng& rng, float p, int64_t n, uint8_t* z);
// Whether p asks for recurrent dropout or zoneout (only the fused loops and the reference run them).
inline bool has_regularisers(const DirParams& p) { return p.rmask || p.zoneout > 0.0f; }
// Test helpers that set the PROCESS DEFAULT engine's split / fold (EngineConfig in rnn_types.h): 0 = the
// rule, 1 / -1 = forced. How the one-phase cells' fused forward shares work between threads: 0 = automatic
// (batch rows when each thread gets ≥ 16 of them, see rnn_engine.cpp), 1 = batch rows whenever each
// thread gets ≥ 8, -1 = hidden-unit blocks (both give bitwise the same results).
void force_forward_split(int mode);
// Tests: how many fused forward teams of ≥ 2 threads split batch rows (rows) or unit blocks (!rows)
// since the last reset (reset = true returns the count and sets it to 0).
int64_t forward_split_runs(bool rows, bool reset = false);
// Whether the fused forward loop folds the input projection into its steps for this shape (fp32,
// one-phase cells, B ≥ 8; rnn_engine.cpp), unless s.engine.fold forces it (1 always, -1 never).
bool fold_input(const DirShape& s);
void force_fold_input(int mode);
// Whether the bf16 per-step products run on AMX tiles (kernels/amx/panel_amx.h) for this shape: bf16, a
// CPU with AMX-BF16 whose tile state Linux granted, and s.engine.amx ≥ 0 (rnn_engine.cpp).
bool use_amx(const DirShape& s);
// Unfolded: A [T,B,GH] holds X W_ihᵀ without biases (the gate pass adds them); HS/CS hold h0/c0 in their slot;
// EX: gru nh, gru_cho r ⊙ h_prev, projection m. Fills the rest of A (activations), HS, CS, EX and y.
// light (no tape wanted; needs !accumulate, no padding, ldy = R): HS [1, B, R] holds only h0 (in any
// direction) and h_t is written straight into y's rows, which serve as the state slots; CS [2, B, H]
// (c0 in slot (h0's slot) % 2) holds two slots used in turn; gru: EX [1, B, H], one step's nh reused.
// y, h_n and c_n are bitwise the same.
// x (only when fold_input(s)): the input [T, B, I]; the loop computes x_t W_ihᵀ itself and A arrives
// unfilled ([T, B, GH] for the tape, or [1, B, GH] in light mode: one step's gates, reused).
// HD (p.rmask only, else null): [T+1, B, R] the dropped states hs ⊙ rmask (h0's slot filled by the caller),
// which the products read instead of HS.
void fused_forward_loop(const DirShape& s, const DirParams& p, const uint8_t* valid_all, float* A, float* HS,
                        float* CS, float* EX, float* y, int64_t ldy, bool accumulate, bool light = false,
                        const float* x = nullptr, float* HD = nullptr);
// dh [B,R] holds dL/dh_T (dh_n), dhp [B,R] scratch, dc [B,H] dL/dc_T; fills dA (and dGh for gru),
// accumulates dpeep. Returns the buffer (dh or dhp) that holds dL/dh0 at the end; dc then holds dL/dc0.
// dbias [GH] (or null; not for gru_cho): += Σ_{t,b} dA[t, b, :] (each step's B rows summed in fp32, the
// steps in double), taken while the step's dA block is still in cache; dbias_hh (gru only, or null): the
// same over dGh (b_hh's gradient).
// dhs [T,B,R] (LSTM with projection only, else may be null): receives dL/dh_t of every step (for dW_hr).
float* fused_backward_loop(const DirShape& s, const DirParams& p, const DirTape& tape, const float* dy, int64_t ldy,
                           float* dA, float* dGh, float* dh, float* dhp, float* dc, float* dpeep,
                           double* dbias = nullptr, float* dhs = nullptr, double* dbias_hh = nullptr);

// The scan cells (Cell::scan: minGRU, minLSTM, RG-LRU; rnn_scan.cpp), called by forward/backward above with
// the same contracts: A = X·W_ihᵀ for all steps in one GEMM, then the elementwise recurrence over t, each
// thread owning a block of hidden units for all rows and steps (no barrier inside the loop; results do
// not depend on the thread count). The tape keeps A (activations) and HS.
void scan_forward(const DirShape& s, const DirParams& p, const float* x, const uint8_t* valid_all, const float* h0,
                  float* y, int64_t ldy, bool accumulate, float* h_n, DirTape& tape);
void scan_backward(const DirShape& s, const DirParams& p, const float* x, DirTape& tape, const float* dy, int64_t ldy,
                   const float* dh_n, float* dx, float* dh0, const DirGrads& g);

// valid[t*B + b] = t < lengths[b]; empty if every length equals T.
std::vector<uint8_t> valid_mask(int64_t T, const std::vector<int64_t>& lengths);

}  // namespace recurrent::rnn
