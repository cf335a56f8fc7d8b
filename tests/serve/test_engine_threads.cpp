// The server's model threads run their OpenMP regions (oneDNN's output layer, row-parallel kernels)
// with --threads, the library's num_threads(): OpenMP keeps the count per thread, and a std::thread
// starts from OpenMP's default (all cores). Before adopt_num_threads, `serve --threads 1` ran those
// regions on every core from its engine thread.
#include <gtest/gtest.h>
#include <omp.h>

#include "recurrent/core/threads.h"
#include "recurrent/tasks/lm.h"
#include "recurrent/tasks/load_model.h"
#include "serve/lm_engine.h"
#include "serve_fixture.h"
#include "serve/worker.h"

using namespace recurrent;

TEST(ServeEngineThreads, EngineAndWorkerUseTheLibraryCount) {
  const int before = num_threads();
  const int n = omp_get_num_procs() + 1;  // never OpenMP's default
  set_num_threads(n);
  {
    serve::ModelMetrics metrics;
    serve::LmEngine engine("tiny", tasks::open_lm(tasks::resolve_model_path(recurrent::testing::tiny_lm())), {}, metrics);
    std::future<int> seen = engine.try_run([](tasks::LmModel&) { return omp_get_max_threads(); });
    ASSERT_TRUE(seen.valid());
    EXPECT_EQ(seen.get(), n);
    serve::Worker worker(4);
    std::future<int> w = worker.try_run([] { return omp_get_max_threads(); });
    ASSERT_TRUE(w.valid());
    EXPECT_EQ(w.get(), n);
  }
  set_num_threads(before);
}
