// Standard MIDI Files (io/midi.h): what the writer encodes parses back to the same notes (in memory and
// through a file), the header and variable-length delta bytes by hand, the reader on hand-made files
// (running status, note-on velocity 0, format 1 with two tracks, sysex and meta events), piano-roll
// steps ↔ notes, and one clear error per malformed file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "recurrent/core/error.h"
#include "recurrent/io/midi.h"

using namespace recurrent;
using namespace recurrent::io;

namespace {

std::vector<uint8_t> bytes_of(std::initializer_list<int> v) { return std::vector<uint8_t>(v.begin(), v.end()); }

// MThd (format, ntracks, division 96) followed by the given track bodies, each wrapped in MTrk.
std::vector<uint8_t> smf(int format, const std::vector<std::vector<uint8_t>>& tracks) {
  std::vector<uint8_t> b = bytes_of({'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, format, 0, static_cast<int>(tracks.size()), 0, 96});
  for (const auto& t : tracks) {
    for (int c : std::initializer_list<int>{'M', 'T', 'r', 'k', 0, 0, static_cast<int>(t.size() >> 8), static_cast<int>(t.size() & 0xff)})
      b.push_back(static_cast<uint8_t>(c));
    b.insert(b.end(), t.begin(), t.end());
  }
  return b;
}

std::string parse_error(const std::vector<uint8_t>& b) {
  try {
    parse_midi(b, "x.mid");
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    EXPECT_EQ(e.where(), "x.mid");
    return e.what();
  }
  ADD_FAILURE() << "no Error thrown";
  return "";
}

}  // namespace

TEST(Midi, WrittenNotesParseBackToTheSameNotes) {
  MidiFile m;
  m.ticks_per_quarter = 480;
  m.tempo = 600000;
  // Chords, overlaps, a long note (delta ≥ 2^14: a 3-byte quantity), two channels, and the same pitch
  // ending where it starts again (two notes, not one).
  m.notes = {{60, 0, 480, 80, 0},     {64, 0, 960, 70, 0},   {67, 240, 480, 90, 1},  {60, 480, 960, 80, 0},
             {21, 960, 40000, 1, 0},  {108, 960, 961, 127, 0}, {72, 30000, 30480, 64, 15}};
  const MidiFile back = parse_midi(encode_midi(m), "mem");
  EXPECT_EQ(back.ticks_per_quarter, 480);
  EXPECT_EQ(back.tempo, 600000);
  std::vector<MidiNote> want = m.notes;
  std::sort(want.begin(), want.end(), [](const MidiNote& a, const MidiNote& b) {
    return std::tie(a.start, a.pitch, a.channel) < std::tie(b.start, b.pitch, b.channel);
  });
  EXPECT_EQ(back.notes, want);
}

TEST(Midi, FileRoundTrip) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("recurrent-midi-" + std::to_string(::getpid()) + ".mid")).string();
  MidiFile m;
  m.ticks_per_quarter = 4;
  m.notes = notes_from_steps({{60, 64, 67}, {60, 65, 69}, {}, {59, 62, 67}}, 4);
  write_midi(path, m);
  const MidiFile back = read_midi(path);
  std::filesystem::remove(path);
  EXPECT_EQ(back.notes, m.notes);
  EXPECT_EQ(steps_from_notes(back.notes, 4), (std::vector<std::vector<int64_t>>{{60, 64, 67}, {60, 65, 69}, {}, {59, 62, 67}}));
}

TEST(Midi, HeaderAndDeltaBytes) {
  MidiFile m;
  m.ticks_per_quarter = 480;  // 0x01E0
  m.notes = {{60, 128, 129, 100, 0}};  // first delta 128 = VLQ 81 00
  const std::vector<uint8_t> b = encode_midi(m);
  const std::vector<uint8_t> head = bytes_of({'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 0, 0, 1, 0x01, 0xE0, 'M', 'T', 'r', 'k'});
  ASSERT_GT(b.size(), head.size() + 4);
  EXPECT_TRUE(std::equal(head.begin(), head.end(), b.begin()));
  // Track: 00 FF 51 03 07 A1 20 (tempo 500000), 00 C0 00 (program), 81 00 90 3C 64 (note on after 128
  // ticks), 01 80 3C 40 (off one tick later), 00 FF 2F 00.
  const std::vector<uint8_t> track = bytes_of({0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20, 0x00, 0xC0, 0x00, 0x81, 0x00,
                                               0x90, 0x3C, 0x64, 0x01, 0x80, 0x3C, 0x40, 0x00, 0xFF, 0x2F, 0x00});
  ASSERT_EQ(b.size(), head.size() + 4 + track.size());
  EXPECT_EQ(b[head.size() + 3], track.size());
  EXPECT_TRUE(std::equal(track.begin(), track.end(), b.begin() + head.size() + 4));
}

TEST(Midi, ReaderTakesRunningStatusVelocityZeroAndFormat1) {
  // Track 0: tempo + a sysex; track 1: note on 60 and (running status) 64, then both off as note-on
  // velocity 0, a text meta event in between, and a program change (one data byte).
  const std::vector<uint8_t> t0 = bytes_of({0x00, 0xFF, 0x51, 0x03, 0x0F, 0x42, 0x40, 0x00, 0xF0, 0x02, 0x7E, 0xF7,
                                            0x00, 0xFF, 0x2F, 0x00});
  const std::vector<uint8_t> t1 = bytes_of({0x00, 0xC3, 0x05, 0x00, 0x93, 60, 90, 0x00, 64, 91, 0x10, 0xFF, 0x01, 0x02,
                                            'h', 'i', 0x50, 0x93, 60, 0x00, 0x20, 64, 0x00, 0x00, 0xFF, 0x2F, 0x00});
  const MidiFile m = parse_midi(smf(1, {t0, t1}), "two.mid");
  EXPECT_EQ(m.tempo, 1000000);
  EXPECT_EQ(m.ticks_per_quarter, 96);
  EXPECT_EQ(m.notes, (std::vector<MidiNote>{{60, 0, 0x60, 90, 3}, {64, 0, 0x80, 91, 3}}));
}

TEST(Midi, OverlapsAcrossMergedTracksEndTheEarlierNoteAndWriteBackTheSame) {
  // Track 0: 60 on channel 0 at 0-96, 62 at 0-48. Track 1: 60 at 48-144 (starts while track 0's
  // sounds), 62 at 0-24 (starts with track 0's: sorted by end, the shorter is left with no length and dropped).
  const std::vector<uint8_t> t0 = bytes_of({0x00, 0x90, 60, 80, 0x00, 62, 81, 0x30, 0x80, 62, 0, 0x30, 0x80, 60, 0,
                                            0x00, 0xFF, 0x2F, 0x00});
  const std::vector<uint8_t> t1 = bytes_of({0x00, 0x90, 62, 70, 0x18, 0x80, 62, 0, 0x18, 0x90, 60, 71, 0x60, 0x80, 60, 0,
                                            0x00, 0xFF, 0x2F, 0x00});
  const MidiFile m = parse_midi(smf(1, {t0, t1}), "two.mid");
  const std::vector<MidiNote> want = {{60, 0, 48, 80, 0}, {62, 0, 48, 81, 0}, {60, 48, 144, 71, 0}};
  EXPECT_EQ(m.notes, want);
  EXPECT_EQ(parse_midi(encode_midi(m), "mem").notes, want);
  // The fuzzer's input (five tracks, one note sounding twice at once across them): read, written and
  // read again, the same notes.
  const MidiFile found = read_midi(std::string(RECURRENT_TEST_DATA) + "/io/fuzz/midi-overlap-across-tracks-e47ecbb5.mid");
  EXPECT_FALSE(found.notes.empty());
  EXPECT_EQ(parse_midi(encode_midi(found), "mem").notes, found.notes);
}

TEST(Midi, PianoRollStepsBecomeHeldNotes) {
  // 60 held for three steps, 64 re-enters after a rest: two notes.
  const std::vector<MidiNote> n = notes_from_steps({{60, 64}, {60}, {60, 64}, {}}, 10, 80, 2);
  EXPECT_EQ(n, (std::vector<MidiNote>{{60, 0, 30, 80, 2}, {64, 0, 10, 80, 2}, {64, 20, 30, 80, 2}}));
  EXPECT_EQ(steps_from_notes(n, 10, 4), (std::vector<std::vector<int64_t>>{{60, 64}, {60}, {60, 64}, {}}));
}

TEST(Midi, MalformedFilesAreRefused) {
  EXPECT_NE(parse_error(bytes_of({'R', 'I', 'F', 'F', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})).find("not a Standard MIDI File"),
            std::string::npos);
  std::vector<uint8_t> smpte = smf(0, {});
  smpte[12] = 0xE7;  // −25 fps
  EXPECT_NE(parse_error(smpte).find("SMPTE"), std::string::npos);
  std::vector<uint8_t> cut = smf(0, {bytes_of({0x00, 0x90, 60})});  // note-on missing its velocity
  EXPECT_NE(parse_error(cut).find("truncated"), std::string::npos);
  std::vector<uint8_t> long_track = smf(0, {bytes_of({0x00, 0xFF, 0x2F, 0x00})});
  long_track[21] = 0x40;  // track length 64 > the 4 bytes there
  EXPECT_NE(parse_error(long_track).find("runs past the end"), std::string::npos);
  EXPECT_NE(parse_error(smf(0, {bytes_of({0x00, 0x3C, 0x40})})).find("without a status"), std::string::npos);
  EXPECT_THROW(encode_midi(MidiFile{480, 500000, 0, {{128, 0, 1, 80, 0}}}), Error);
  EXPECT_THROW(encode_midi(MidiFile{480, 500000, 0, {{60, 5, 5, 80, 0}}}), Error);
}

// Found by tests/fuzz/fuzz_midi (fixtures/io/fuzz/): a status byte where a note's data byte belongs
// gave a note of pitch or velocity above 127 instead of an error.
TEST(Midi, DataBytesAbove127AreRefused) {
  EXPECT_NE(parse_error(smf(0, {bytes_of({0x00, 0x90, 0xBC, 0x40})})).find("data byte 0xbc"), std::string::npos);
  EXPECT_NE(parse_error(smf(0, {bytes_of({0x00, 0x90, 60, 0xC0})})).find("data byte 0xc0"), std::string::npos);
  const std::string found = std::string(RECURRENT_TEST_DATA) + "/io/fuzz/midi-data-byte-88baaddd.mid";
  try {
    read_midi(found);
    ADD_FAILURE() << "no Error thrown";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("(expected 0..127)"), std::string::npos) << e.what();
  }
}
