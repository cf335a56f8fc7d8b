// Corpus file reading (include/recurrent/data/text_file.h): lines with \n and \r\n endings,
// strict UTF-8 with errors naming the file and byte offset, and I/O errors naming the path.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "recurrent/core/error.h"
#include "recurrent/core/limits.h"
#include "recurrent/data/text_file.h"

using namespace recurrent;
using namespace recurrent::data;
namespace fs = std::filesystem;

namespace {

class TextFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("recurrent-text-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
            std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(dir_, ec);
  }
  std::string put(const std::string& name, const std::string& bytes) {
    const std::string p = (dir_ / name).string();
    write_file(p, bytes);
    return p;
  }
  fs::path dir_;
};

template <typename F>
Error read_error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  return Error("", "(no error)");
}

TEST_F(TextFile, LinesSplitOnNewlineDropCarriageReturnAndKeepAFinalUnterminatedLine) {
  using V = std::vector<std::string>;
  EXPECT_EQ(read_lines(put("a", "one\r\ntwo\n\nthree")), (V{"one", "two", "", "three"}));
  EXPECT_EQ(read_lines(put("b", "one\n")), V{"one"});
  EXPECT_EQ(read_lines(put("c", "")), V{});
  EXPECT_EQ(read_lines(put("d", "\n\n")), (V{"", ""}));
  EXPECT_EQ(read_lines(put("e", "mid\rdle\n")), V{"mid\rdle"}) << "only a final \\r is dropped";
  EXPECT_EQ(read_lines(put("f", "Ahab \xE2\x80\x94 \xC3\xA9\n")), V{"Ahab \xE2\x80\x94 \xC3\xA9"});
}

TEST_F(TextFile, BytesAndCodePointsAreReadExactly) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_EQ(read_file(put("bin", all)), all) << "read_file does no decoding";
  EXPECT_EQ(read_utf8_file(put("u", "a\xC3\xA9\xF0\x9F\x90\x8B")), U"a\u00e9\U0001F40B");
}

TEST_F(TextFile, InvalidUtf8NamesTheFileAndTheByteOffset) {
  const std::string p = put("bad.txt", "Call me Ishmael.\nSome \xFF years ago\n");
  for (const Error& e : {read_error_of([&] { read_lines(p); }), read_error_of([&] { read_utf8_file(p); })}) {
    EXPECT_EQ(e.where(), p);
    EXPECT_EQ(e.message(), "invalid UTF-8 at byte offset 22: byte 0xFF cannot start a sequence");
  }
  EXPECT_EQ(read_file(p).size(), 34u) << "raw bytes are still readable";
}

TEST_F(TextFile, IoErrorsNameThePath) {
  const std::string missing = (dir_ / "missing.txt").string();
  Error e = read_error_of([&] { read_file(missing); });
  EXPECT_EQ(e.where(), missing);
  EXPECT_EQ(e.message(), "cannot open for reading: No such file or directory");
  e = read_error_of([&] { read_lines(dir_.string()); });
  EXPECT_EQ(e.where(), dir_.string()) << "a directory is not a text file: " << e.what();
  EXPECT_EQ(e.message(), "is a directory, expected a file");
  const std::string nodir = (dir_ / "no" / "such" / "dir.txt").string();
  e = read_error_of([&] { write_file(nodir, "x"); });
  EXPECT_EQ(e.where(), nodir);
  EXPECT_NE(e.message().find("cannot open for writing: No such file or directory"), std::string::npos) << e.what();
}

}  // namespace

namespace {
// A file one byte past the input limit (core/limits.h) is refused before a byte is read: one line with
// the file, its size and the limit. The file is sparse (resize_file), so it costs no disk or time.
TEST_F(TextFile, FilesPastTheInputLimitAreRefusedBeforeReading) {
  const std::string p = put("huge.txt", "");
  fs::resize_file(p, kMaxInputBytes + 1);
  for (const auto& read : {+[](const std::string& f) { (void)read_file(f); },
                           +[](const std::string& f) { (void)read_lines(f); },
                           +[](const std::string& f) { (void)read_utf8_file(f); }}) {
    const std::string e = read_error_of([&] { read(p); }).what();
    EXPECT_NE(e.find("huge.txt: file of 2.00 GiB is over the 2.00 GiB limit of input read whole into memory"),
              std::string::npos) << e;
  }
  fs::resize_file(p, 5);  // at the limit and below: read as usual (here five NULs)
  EXPECT_EQ(read_file(p), std::string(5, '\0'));
}
}  // namespace
