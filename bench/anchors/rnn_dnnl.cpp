// oneDNN (libdnnl 2.6) RNN primitives: vanilla RNN (tanh), LSTM, GRU (linear-before-reset,
// which is PyTorch's GRU formulation), forward_inference and forward_training + backward.
//
//   OMP_NUM_THREADS=N ./rnn_dnnl CELL H B T [layers] [bidir 0|1] [dtype f32|bf16] [mode infer|train|both|fwdtrain] [reps]
//
// Prints one JSON line per mode with the same fields as bench_torch.py, plus "isa": the ISA oneDNN
// dispatches to (dnnl::get_effective_cpu_isa(); DNNL_MAX_CPU_ISA=SSE41|AVX2|AVX512_CORE caps it).
// Stacking: layers > 1 are separate primitives (layer l reads layer l-1's concatenated output,
// like PyTorch); bidir uses rnn_direction::bidirectional_concat.
// Training step = forward_training + (weights reordered to the backward layout, which a real
// training step must redo after every weight update) + zeroing diff weights + backward with
// diff_dst_layer = 1 (loss = sum of outputs). The input does not need dX for layer 1 but oneDNN
// always computes diff_src_layer; that extra GEMM is counted as overhead, not as FLOPs.
// FLOP model: forward per token/layer/direction = 2*G*H*(I+H); training = 3x forward.
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <unordered_map>
#include <random>
#include <string>
#include <vector>

using namespace dnnl;
using dt = memory::data_type;
using tag = memory::format_tag;

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

static engine eng(engine::kind::cpu, 0);
static stream strm(eng);
static std::mt19937 rng(1);

static void fill_f32(memory& m, float lo, float hi) {
  std::uniform_real_distribution<float> U(lo, hi);
  float* p = (float*)m.get_data_handle();
  size_t n = m.get_desc().get_size() / sizeof(float);
  for (size_t i = 0; i < n; i++) p[i] = U(rng);
}
static void fill_any(memory& m, float lo, float hi) {  // random values via a plain f32 reorder
  auto md = m.get_desc();
  auto dims = md.dims();
  tag t = dims.size() == 3 ? tag::abc : dims.size() == 4 ? tag::abcd : tag::abcde;
  memory::desc plain(dims, dt::f32, t);
  if (md == plain) { fill_f32(m, lo, hi); return; }
  memory tmp(plain, eng);
  fill_f32(tmp, lo, hi);
  reorder(tmp, m).execute(strm, tmp, m);
  strm.wait();
}
static void zero(memory& m) { memset(m.get_data_handle(), 0, m.get_desc().get_size()); }

enum Cell { RNN, LSTM, GRU };

struct Layer {
  Cell cell;
  long I, H, B, T, D;
  dt ddt;
  primitive fwd, bwd;
  std::unordered_map<int, memory> f, b;  // execution args
  std::vector<std::pair<reorder, std::pair<memory, memory>>> wreorders;  // fwd->bwd weights
  std::vector<memory> zero_each_step;
  std::string fwd_impl, bwd_impl;
};

static int G_of(Cell c) { return c == RNN ? 1 : c == GRU ? 3 : 4; }

static memory::desc md_or_zero(const primitive_desc_base& pd, int arg) {
  return pd.query_md(query::exec_arg_md, arg);
}

// Builds one layer (possibly bidirectional). src_layer may be given (chaining).
static Layer make_layer(Cell cell, long I, long H, long B, long T, bool bidir, dt ddt, bool train,
                        memory* src_from, dt diff_w_dt) {
  Layer L{cell, I, H, B, T, bidir ? 2 : 1, ddt};
  int G = G_of(cell), Gb = cell == GRU ? 4 : G;
  auto dir = bidir ? rnn_direction::bidirectional_concat : rnn_direction::unidirectional_left2right;
  memory::desc src_md({T, B, I}, ddt, tag::tnc);
  memory::desc dst_md({T, B, L.D * H}, ddt, tag::tnc);
  memory::desc wl_any({1, L.D, I, G, H}, ddt, tag::any);
  memory::desc wi_any({1, L.D, H, G, H}, ddt, tag::any);
  memory::desc bias_md({1, L.D, Gb, H}, dt::f32, tag::ldgo);
  memory::desc none;
  prop_kind pk = train ? prop_kind::forward_training : prop_kind::forward_inference;

  // ---- forward
  primitive_desc_base fpd;
  lstm_forward::primitive_desc lstm_fpd;
  lbr_gru_forward::primitive_desc gru_fpd;
  vanilla_rnn_forward::primitive_desc rnn_fpd;
  if (cell == LSTM) {
    lstm_fpd = lstm_forward::primitive_desc(
        lstm_forward::desc(pk, dir, src_md, none, none, wl_any, wi_any, bias_md, dst_md, none, none), eng);
    fpd = lstm_fpd;
    L.fwd = lstm_forward(lstm_fpd);
  } else if (cell == GRU) {
    gru_fpd = lbr_gru_forward::primitive_desc(
        lbr_gru_forward::desc(pk, dir, src_md, none, wl_any, wi_any, bias_md, dst_md, none), eng);
    fpd = gru_fpd;
    L.fwd = lbr_gru_forward(gru_fpd);
  } else {
    rnn_fpd = vanilla_rnn_forward::primitive_desc(
        vanilla_rnn_forward::desc(pk, algorithm::eltwise_tanh, dir, src_md, none, wl_any, wi_any,
                                  bias_md, dst_md, none),
        eng);
    fpd = rnn_fpd;
    L.fwd = vanilla_rnn_forward(rnn_fpd);
  }
  L.fwd_impl = fpd.impl_info_str();
  float r = 1.f / std::sqrt((float)H);
  for (int arg : {DNNL_ARG_SRC_LAYER, DNNL_ARG_WEIGHTS_LAYER, DNNL_ARG_WEIGHTS_ITER, DNNL_ARG_BIAS,
                  DNNL_ARG_DST_LAYER, DNNL_ARG_WORKSPACE, DNNL_ARG_SCRATCHPAD}) {
    auto md = md_or_zero(fpd, arg);
    if (md.get_size() == 0) continue;
    if (arg == DNNL_ARG_SRC_LAYER && src_from) { L.f[arg] = *src_from; continue; }
    L.f[arg] = memory(md, eng);
    if (arg == DNNL_ARG_SRC_LAYER) fill_any(L.f[arg], -1, 1);
    if (arg == DNNL_ARG_WEIGHTS_LAYER || arg == DNNL_ARG_WEIGHTS_ITER || arg == DNNL_ARG_BIAS)
      fill_any(L.f[arg], -r, r);
    if (arg == DNNL_ARG_DST_LAYER || arg == DNNL_ARG_WORKSPACE) zero(L.f[arg]);
  }
  if (!train) return L;

  // ---- backward
  memory::desc dsrc_md({T, B, I}, diff_w_dt, tag::tnc);  // oneDNN 2.6: all diffs f32, even for bf16
  memory::desc ddst_md({T, B, L.D * H}, diff_w_dt, tag::tnc);
  memory::desc dwl_any({1, L.D, I, G, H}, diff_w_dt, tag::any);
  memory::desc dwi_any({1, L.D, H, G, H}, diff_w_dt, tag::any);
  memory::desc dbias_md({1, L.D, Gb, H}, dt::f32, tag::ldgo);
  primitive_desc_base bpd;
  if (cell == LSTM) {
    auto p = lstm_backward::primitive_desc(
        lstm_backward::desc(prop_kind::backward, dir, src_md, none, none, wl_any, wi_any, bias_md,
                            dst_md, none, none, dsrc_md, none, none, dwl_any, dwi_any, dbias_md,
                            ddst_md, none, none),
        eng, lstm_fpd);
    bpd = p;
    L.bwd = lstm_backward(p);
  } else if (cell == GRU) {
    auto p = lbr_gru_backward::primitive_desc(
        lbr_gru_backward::desc(prop_kind::backward, dir, src_md, none, wl_any, wi_any, bias_md,
                               dst_md, none, dsrc_md, none, dwl_any, dwi_any, dbias_md, ddst_md, none),
        eng, gru_fpd);
    bpd = p;
    L.bwd = lbr_gru_backward(p);
  } else {
    auto p = vanilla_rnn_backward::primitive_desc(
        vanilla_rnn_backward::desc(prop_kind::backward, algorithm::eltwise_tanh, dir, src_md, none,
                                   wl_any, wi_any, bias_md, dst_md, none, dsrc_md, none, dwl_any,
                                   dwi_any, dbias_md, ddst_md, none),
        eng, rnn_fpd);
    bpd = p;
    L.bwd = vanilla_rnn_backward(p);
  }
  L.bwd_impl = bpd.impl_info_str();
  for (int arg : {DNNL_ARG_SRC_LAYER, DNNL_ARG_WEIGHTS_LAYER, DNNL_ARG_WEIGHTS_ITER, DNNL_ARG_BIAS,
                  DNNL_ARG_DST_LAYER, DNNL_ARG_WORKSPACE, DNNL_ARG_DIFF_SRC_LAYER,
                  DNNL_ARG_DIFF_WEIGHTS_LAYER, DNNL_ARG_DIFF_WEIGHTS_ITER, DNNL_ARG_DIFF_BIAS,
                  DNNL_ARG_DIFF_DST_LAYER, DNNL_ARG_SCRATCHPAD}) {
    auto md = md_or_zero(bpd, arg);
    if (md.get_size() == 0) continue;
    auto it = L.f.find(arg);
    if (it != L.f.end() && arg != DNNL_ARG_SCRATCHPAD) {
      if (it->second.get_desc() == md) { L.b[arg] = it->second; continue; }
      // weights in a different layout for backward: reorder every step
      memory m(md, eng);
      L.wreorders.push_back({reorder(it->second, m), {it->second, m}});
      L.b[arg] = m;
      continue;
    }
    L.b[arg] = memory(md, eng);
    if (arg == DNNL_ARG_DIFF_WEIGHTS_LAYER || arg == DNNL_ARG_DIFF_WEIGHTS_ITER ||
        arg == DNNL_ARG_DIFF_BIAS)
      L.zero_each_step.push_back(L.b[arg]);
    else
      zero(L.b[arg]);
  }
  return L;
}

static const char* isa_name(cpu_isa i) {
  switch (i) {
    case cpu_isa::sse41: return "sse41";
    case cpu_isa::avx: return "avx";
    case cpu_isa::avx2: return "avx2";
    case cpu_isa::avx2_vnni: return "avx2_vnni";
    case cpu_isa::avx512_core: return "avx512_core";
    case cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case cpu_isa::avx512_core_amx: return "avx512_core_amx";
    case cpu_isa::all: return "all";
    default: return "other";
  }
}

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s CELL H B T [layers] [bidir] [f32|bf16] [infer|train|both] [reps]\n", argv[0]);
    return 1;
  }
  std::string cs = argv[1];
  Cell cell = cs == "LSTM" ? LSTM : cs == "GRU" ? GRU : RNN;
  long H = atol(argv[2]), B = atol(argv[3]), T = atol(argv[4]);
  int layers = argc > 5 ? atoi(argv[5]) : 1;
  bool bidir = argc > 6 ? atoi(argv[6]) : 0;
  std::string dts = argc > 7 ? argv[7] : "f32";
  std::string modes = argc > 8 ? argv[8] : "both";
  int reps = argc > 9 ? atoi(argv[9]) : 7;
  dt ddt = dts == "bf16" ? dt::bf16 : dt::f32;
  const char* nthr = getenv("OMP_NUM_THREADS");
  const char* isa = isa_name(get_effective_cpu_isa());
  int D = bidir ? 2 : 1, G = G_of(cell);
  double fwd_fl_tok = 0;
  for (int l = 0; l < layers; l++) {
    long I = l == 0 ? H : H * D;
    fwd_fl_tok += D * 2.0 * G * H * (I + H);
  }

  for (std::string mode : {"infer", "train", "fwdtrain"}) {
    if (modes != mode && !(modes == "both" && mode != "fwdtrain")) continue;
    // fwdtrain: forward_training primitive (the "ref"/GEMM implementation in 2.6) timed alone,
    // i.e. an inference pass done with the training-mode primitive
    bool train = mode != "infer";
    bool run_bwd = mode == "train";
    std::vector<Layer> Ls;
    std::string err;
    try {
      for (int l = 0; l < layers; l++) {
        long I = l == 0 ? H : H * D;
        memory* prev = l ? &Ls.back().f[DNNL_ARG_DST_LAYER] : nullptr;
        // oneDNN requires every diff tensor in f32, also for bf16 training
        Ls.push_back(make_layer(cell, I, H, B, T, bidir, ddt, train, prev, dt::f32));
      }
      if (train)  // chain diffs: layer l's diff_dst = layer l+1's diff_src
        for (int l = 0; l + 1 < layers; l++) {
          Ls[l].b[DNNL_ARG_DIFF_DST_LAYER] = Ls[l + 1].b[DNNL_ARG_DIFF_SRC_LAYER];
        }
      if (train) fill_any(Ls.back().b[DNNL_ARG_DIFF_DST_LAYER], 1, 1);  // d(sum)/dy = 1
    } catch (dnnl::error& e) {
      err = e.what();
    }
    if (!err.empty()) {
      printf("{\"lib\": \"onednn\", \"cell\": \"%s\", \"H\": %ld, \"B\": %ld, \"T\": %ld, \"layers\": %d, "
             "\"bidir\": %s, \"dtype\": \"%s\", \"mode\": \"%s\", \"threads\": %s, \"isa\": \"%s\", \"error\": \"%s\"}\n",
             cs.c_str(), H, B, T, layers, bidir ? "true" : "false", dts.c_str(), mode.c_str(),
             nthr ? nthr : "null", isa, err.c_str());
      fflush(stdout);
      continue;
    }
    auto step = [&] {
      for (auto& L : Ls) L.fwd.execute(strm, L.f);
      if (run_bwd) {
        for (int l = layers - 1; l >= 0; l--) {
          auto& L = Ls[l];
          for (auto& w : L.wreorders) w.first.execute(strm, w.second.first, w.second.second);
          for (auto& m : L.zero_each_step) zero(m);
          L.bwd.execute(strm, L.b);
        }
      }
      strm.wait();
    };
    step();
    double t0 = now();
    step();
    double one = now() - t0;
    int n = std::max(1, (int)(0.2 / std::max(one, 1e-9)));
    std::vector<double> ts;
    for (int r = 0; r < reps; r++) {
      double a = now();
      for (int i = 0; i < n; i++) step();
      ts.push_back((now() - a) / n);
    }
    std::sort(ts.begin(), ts.end());
    double med = ts[ts.size() / 2], mn = ts.front();
    double fl = fwd_fl_tok * B * T * (run_bwd ? 3 : 1);
    printf("{\"lib\": \"onednn\", \"cell\": \"%s\", \"H\": %ld, \"B\": %ld, \"T\": %ld, \"layers\": %d, "
           "\"bidir\": %s, \"dtype\": \"%s\", \"mode\": \"%s\", \"threads\": %s, \"reps\": %d, "
           "\"min_s\": %.6g, \"median_s\": %.6g, \"tokens_s\": %.6g, \"gflops_med\": %.4g, "
           "\"gflops_max\": %.4g, \"us_per_step_med\": %.5g, \"fwd_impl\": \"%s\", \"bwd_impl\": \"%s\", "
           "\"weight_reorders_per_step\": %zu, \"isa\": \"%s\"}\n",
           cs.c_str(), H, B, T, layers, bidir ? "true" : "false", dts.c_str(), mode.c_str(),
           nthr ? nthr : "null", reps, mn, med, B * T / med, fl / med / 1e9, fl / mn / 1e9,
           med / T * 1e6, Ls[0].fwd_impl.c_str(), Ls[0].bwd_impl.c_str(), Ls[0].wreorders.size(), isa);
    fflush(stdout);
  }
  return 0;
}
