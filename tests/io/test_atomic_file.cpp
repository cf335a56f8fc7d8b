// Atomic file replacement (include/recurrent/io/atomic_file.h): the target is always either the
// old file or the complete new one. A writer that fails midway (an exception, a write error from
// a file-size limit, a process that dies) leaves the old file intact and — except for the dying
// process, which cannot clean up — no temp file; errors name the target path.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "io/io_test_util.h"
#include "recurrent/core/error.h"
#include "recurrent/io/atomic_file.h"
#include "recurrent/io/safetensors.h"

using namespace recurrent;
using namespace recurrent::io;
using namespace recurrent::testing;

namespace {

std::string slurp(const std::string& p) {
  auto b = read_bytes(p);
  return std::string(b.begin(), b.end());
}

mode_t mode_of(const std::string& p) {
  struct stat st{};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

class AtomicFileTest : public TempDirTest {};

TEST_F(AtomicFileTest, CreatesAndReplacesWithNoTempFileLeft) {
  const std::string p = path("f.txt");
  write_file_atomic(p, "first");
  EXPECT_EQ(slurp(p), "first");
  write_file_atomic(p, "second, longer content");
  EXPECT_EQ(slurp(p), "second, longer content");
  write_file_atomic(p, "");
  EXPECT_EQ(slurp(p), "");
  EXPECT_EQ(listing(), std::vector<std::string>{"f.txt"});
}

TEST_F(AtomicFileTest, ModeOfANewFileFollowsTheUmaskAndAnExistingModeIsKept) {
  const std::string p = path("m.txt");
  const mode_t old_mask = ::umask(027);
  write_file_atomic(p, "x");
  ::umask(old_mask);
  EXPECT_EQ(mode_of(p), 0640u) << "0666 & ~umask, not mkstemp's 0600";
  ASSERT_EQ(::chmod(p.c_str(), 0604), 0);
  write_file_atomic(p, "y");
  EXPECT_EQ(mode_of(p), 0604u);
}

TEST_F(AtomicFileTest, ExceptionMidwayKeepsTheOldFileAndRemovesTheTemp) {
  const std::string p = path("model.safetensors");
  write_file_atomic(p, "old content");
  std::string temp;
  try {
    AtomicFile f(p);
    temp = f.temp_path();
    EXPECT_EQ(temp.rfind(p + ".tmp.", 0), 0u) << temp;
    f.write("new content, half of it");
    EXPECT_TRUE(std::filesystem::exists(temp));
    throw std::runtime_error("simulated failure");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(slurp(p), "old content");
  EXPECT_FALSE(std::filesystem::exists(temp));
  EXPECT_EQ(listing(), std::vector<std::string>{"model.safetensors"});
}

TEST_F(AtomicFileTest, WriteErrorKeepsTheOldFileNamesThePathAndRemovesTheTemp) {
  // A file-size limit makes write() fail with EFBIG part way through, as a full disk would.
  const std::string p = path("big.safetensors");
  write_safetensors(p, {{"w", Tensor::full({4}, 1.0f)}});
  const auto before = read_bytes(p);
  struct rlimit old_lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_lim), 0);
  struct sigaction ign{}, old_act{};
  ign.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ign, &old_act), 0);
  struct rlimit lim = old_lim;
  lim.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &lim), 0);
  const std::string err = error_of([&] { write_safetensors(p, {{"w", Tensor::full({1 << 16}, 2.0f)}}); });
  ::setrlimit(RLIMIT_FSIZE, &old_lim);
  ::sigaction(SIGXFSZ, &old_act, nullptr);
  EXPECT_EQ(err.rfind(p + ": write failed: File too large", 0), 0u) << err;
  EXPECT_EQ(read_bytes(p), before);
  EXPECT_EQ(listing(), std::vector<std::string>{"big.safetensors"});
}

TEST_F(AtomicFileTest, AProcessDyingMidWriteLeavesTheOldFileIntact) {
  const std::string p = path("ckpt.safetensors");
  write_file_atomic(p, "old");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    AtomicFile f(p);
    f.write("new, never committed");
    ::_exit(0);  // dies without commit and without running destructors
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_EQ(slurp(p), "old");
  // The dead writer's temp file stays (nobody could remove it); it never shadows the target.
  const auto names = listing();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[1].rfind("ckpt.safetensors.tmp.", 0), 0u) << names[1];
}

TEST_F(AtomicFileTest, ConcurrentReaderSeesOnlyCompleteVersions) {
  const std::string p = path("shared.bin");
  const std::string a(200'000, 'a'), b(50'000, 'b');
  write_file_atomic(p, a);
  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, torn{0};
  std::thread reader([&] {
    while (!done.load()) {
      const std::string s = slurp(p);
      if (s != a && s != b) torn.fetch_add(1);
      reads.fetch_add(1);
    }
  });
  for (int i = 0; i < 20; ++i) write_file_atomic(p, i % 2 ? a : b);
  done = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0) << "of " << reads.load() << " reads";
  EXPECT_GT(reads.load(), 0);
}

TEST_F(AtomicFileTest, UnwritableTargetsGiveErrorsNamingThePath) {
  const std::string no_dir = path("no/such/dir/f.bin");
  std::string e = error_of([&] { write_file_atomic(no_dir, "x"); });
  EXPECT_EQ(e.rfind(no_dir + ": cannot create a temporary file next to it: No such file or directory", 0), 0u) << e;

  const std::string is_dir = path("sub");
  std::filesystem::create_directories(is_dir);
  e = error_of([&] { write_file_atomic(is_dir, "x"); });
  EXPECT_EQ(e, is_dir + ": exists and is not a regular file; will not replace it");

  e = error_of([&] { write_file_atomic(path("sub/"), "x"); });
  EXPECT_NE(e.find("expected a file name to write"), std::string::npos) << e;

  // A directory nobody may create files in, even root: /proc.
  e = error_of([&] { write_safetensors("/proc/recurrent-test.safetensors", {{"w", Tensor::scalar(1)}}); });
  EXPECT_EQ(e.rfind("/proc/recurrent-test.safetensors: cannot create a temporary file next to it", 0), 0u) << e;

  EXPECT_EQ(listing(), std::vector<std::string>{"sub"}) << "no temp files";

  if (::geteuid() != 0) {  // permission bits do not stop root
    const std::string ro = path("ro");
    std::filesystem::create_directories(ro);
    write_file_atomic(ro + "/f", "old");
    ASSERT_EQ(::chmod(ro.c_str(), 0500), 0);
    e = error_of([&] { write_file_atomic(ro + "/f", "new"); });
    ::chmod(ro.c_str(), 0700);
    EXPECT_NE(e.find("Permission denied"), std::string::npos) << e;
    EXPECT_EQ(slurp(ro + "/f"), "old");
  }
}

TEST_F(AtomicFileTest, MisuseIsAnError) {
  const std::string p = path("f");
  AtomicFile f(p);
  f.write("abc");
  f.commit();
  EXPECT_NE(error_of([&] { f.write("more"); }).find("write after commit"), std::string::npos);
  EXPECT_NE(error_of([&] { f.commit(); }).find("commit called twice"), std::string::npos);
  EXPECT_EQ(slurp(p), "abc");
}

}  // namespace
