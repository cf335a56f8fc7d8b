// The gradient lab's shared CLI pieces. Contract: src/cli/lab_common.h.
#include "cli/lab_common.h"

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "recurrent/core/error.h"
#include "recurrent/nn/rnn_types.h"

namespace recurrent::cli::lab {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<std::string> cell_names() {
  std::vector<std::string> n = recurrent::cell_names();
  n.push_back("irnn");
  return n;
}

std::vector<double> clip_values(const std::string& s) {
  std::vector<double> v;
  for (const std::string& item : split_list(s)) {
    char* end = nullptr;
    double c = std::strtod(item.c_str(), &end);
    RC_CHECK(end && *end == '\0' && c >= 0.0 && std::isfinite(c), "--clip", "expected non-negative numbers, got '",
             item, "'");
    v.push_back(c);
  }
  RC_CHECK(!v.empty(), "--clip", "expected at least one value (0: no clipping)");
  return v;
}

std::vector<tasks::LabModel> models(const std::string& cells, const std::string& inits, double rho, double forget_bias,
                                    double update_bias, double chrono) {
  std::vector<tasks::LabModel> m;
  const std::vector<std::string> in = split_list(inits);
  RC_CHECK(!in.empty(), "--inits", "expected at least one initialisation");
  for (const std::string& cell : split_list(cells))
    for (const std::string& init : in) {
      if (cell == "irnn" && init != in.front()) continue;  // irnn fixes its own init
      const bool gru = cell == "gru" || cell == "gru_cho";  // the update bias applies to these only
      const bool lstm = cell.rfind("lstm", 0) == 0;          // and the chrono init to the LSTM cells
      m.push_back(tasks::lab_model(cell, init, rho, forget_bias, gru ? update_bias : 0.0, lstm ? chrono : 0.0));
    }
  RC_CHECK(!m.empty(), "--cells", "expected at least one cell");
  return m;
}

std::ofstream open_csv(const std::string& dir, const std::string& name, const std::string& header) {
  std::filesystem::create_directories(dir);
  const std::string path = (std::filesystem::path(dir) / name).string();
  std::ofstream f(path);
  RC_CHECK(f.good(), path, "cannot open for writing");
  f << header << "\n";
  return f;
}

TrainCsv::TrainCsv(const std::string& dir) {
  if (dir.empty()) return;
  train = open_csv(dir, "train.csv", "model,clip,step,seconds,loss,grad_norm,clipped_norm,test_metric,test_accuracy,ratio,h_norm,c_norm");
  gates = open_csv(dir, "gates.csv", "model,clip,step,gate,mean,saturated");
  dh = open_csv(dir, "dh.csv", "model,clip,step,t,distance,dh_norm");
  summary = open_csv(dir, "summary.csv", "task,T,model,clip,metric,baseline,final,accuracy,steps,steps_to_solve,ratio,diverged,seconds");
}

void TrainCsv::record(const std::string& model, double clip, const tasks::LabRecord& r) {
  if (!train.is_open()) return;
  train << model << "," << clip << "," << r.step << "," << r.seconds << "," << r.loss << "," << r.grad_norm << ","
        << r.clipped_norm << "," << r.test_metric << "," << r.test_accuracy << "," << (r.probed ? r.ratio : -1.0)
        << "," << r.h_norm << "," << r.c_norm << "\n";
  if (!r.probed) return;
  for (size_t g = 0; g < r.gates.size(); ++g)
    gates << model << "," << clip << "," << r.step << "," << r.gates[g] << "," << r.gate_mean[g] << ","
          << r.gate_saturated[g] << "\n";
  const int64_t Tp = static_cast<int64_t>(r.dh_norm.size());
  for (int64_t t = 0; t < Tp; ++t)
    dh << model << "," << clip << "," << r.step << "," << t << "," << Tp - 1 - t << "," << r.dh_norm[t] << "\n";
  train.flush(), gates.flush(), dh.flush();  // long runs: partial results readable (and plottable) as they come
}

void TrainCsv::result(const std::string& task, int64_t T, const std::string& model, double clip, const tasks::LabResult& r) {
  if (!summary.is_open()) return;
  summary << task << "," << T << "," << model << "," << clip << "," << r.metric << "," << r.baseline << ","
          << r.final_metric << "," << r.final_accuracy << "," << r.steps_done << "," << r.steps_to_solve << ","
          << r.ratio << "," << (r.diverged ? r.diverged_what : "") << "," << r.seconds << "\n";
  summary.flush();
}

namespace {

void print_progress(const std::string& model, double clip, const tasks::LabRecord& r) {
  if (r.test_metric < 0) return;
  std::printf("  %-28s clip %-4g step %6lld  %6.0f s  loss %.4f  eval %.4f", model.c_str(), clip, (long long)r.step,
              r.seconds, r.loss, r.test_metric);
  if (r.test_accuracy >= 0) std::printf("  acc %.3f", r.test_accuracy);
  std::printf("  |g| %.3g\n", r.grad_norm);
  std::fflush(stdout);
}

bool is_classification(tasks::LabTask t) { return t == tasks::LabTask::agreement || t == tasks::LabTask::seqimage; }

std::string fmt(double v, const char* f) {
  char b[32] = "-";
  if (v >= 0) std::snprintf(b, sizeof b, f, v);
  return b;
}

}  // namespace

std::vector<Row> train_all(tasks::LabConfig cfg, const std::vector<tasks::LabModel>& models,
                           const std::vector<double>& clips, TrainCsv& csv, bool json) {
  std::vector<Row> rows;
  const std::string task = tasks::lab_task_name(cfg.task);
  for (const tasks::LabModel& m : models)
    for (double clip : clips) {
      cfg.clip = clip;
      auto on_record = [&](const tasks::LabRecord& r) {
        csv.record(m.label, clip, r);
        if (!json) print_progress(m.label, clip, r);
      };
      Row w{m.label, clip, tasks::run_lab(cfg, m, on_record)};
      csv.result(task, cfg.images ? cfg.images->T() : cfg.T, m.label, clip, w.r);
      if (json) std::printf("%s\n", json_line(cfg, w).c_str());
      else if (w.r.diverged) std::printf("  %-28s clip %-4g DIVERGED: %s\n", m.label.c_str(), clip, w.r.diverged_what.c_str());
      std::fflush(stdout);
      rows.push_back(std::move(w));
    }
  return rows;
}

std::string json_line(const tasks::LabConfig& cfg, const Row& w) {
  const tasks::LabResult& r = w.r;
  const bool cls = is_classification(cfg.task);
  nlohmann::json j{{"cell", w.model}, {"clip", w.clip}, {"metric", cls ? "accuracy" : r.metric},
                   {"value", cls ? r.final_accuracy : r.final_metric}, {"steps", r.steps_done},
                   {"steps_to_solve", r.steps_to_solve}, {"grad_ratio", r.ratio}, {"diverged", r.diverged},
                   {"seconds", r.seconds}, {"task", tasks::lab_task_name(cfg.task)},
                   {"T", cfg.images ? cfg.images->T() : cfg.T}};
  if (cls) j["ce"] = r.final_metric;
  else if (r.final_accuracy >= 0) j["accuracy"] = r.final_accuracy;
  j["baseline_" + r.metric] = r.baseline;
  if (r.diverged) j["diverged_what"] = r.diverged_what;
  return j.dump();
}

void print_table(std::FILE* f, const tasks::LabConfig& cfg, const std::vector<Row>& rows, bool md) {
  if (rows.empty()) return;
  const std::string metric = rows[0].r.metric;
  const bool img = cfg.task == tasks::LabTask::seqimage;
  const std::string what = std::string(img ? "test " : "eval ") + metric;
  if (md) {
    std::fprintf(f, "| model | clip | %s | accuracy | steps run | solved at step | ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ | seconds | note |\n"
                    "|---|---|---|---|---|---|---|---|---|\n", what.c_str());
  } else {
    std::fprintf(f, "%-28s %5s %10s %9s %7s %8s %14s %8s %s\n", "model", "clip", what.c_str(), "accuracy", "steps",
                 "solved@", "|dh_1|/|dh_T|", "seconds", "note");
  }
  for (const Row& w : rows) {
    const std::string solved = w.r.steps_to_solve < 0 ? "-" : std::to_string(w.r.steps_to_solve);
    const std::string note = w.r.diverged ? "DIVERGED: " + w.r.diverged_what : "";
    if (md)
      std::fprintf(f, "| %s | %g | %s | %s | %lld | %s | %.3e | %.0f | %s |\n", w.model.c_str(), w.clip,
                   fmt(w.r.final_metric, "%.4g").c_str(), fmt(w.r.final_accuracy, "%.4f").c_str(),
                   (long long)w.r.steps_done, solved.c_str(), w.r.ratio, w.r.seconds, note.c_str());
    else
      std::fprintf(f, "%-28s %5g %10s %9s %7lld %8s %14.3e %8.0f %s\n", w.model.c_str(), w.clip,
                   fmt(w.r.final_metric, "%.4g").c_str(), fmt(w.r.final_accuracy, "%.3f").c_str(),
                   (long long)w.r.steps_done, solved.c_str(), w.r.ratio, w.r.seconds, note.c_str());
  }
}

}  // namespace recurrent::cli::lab
