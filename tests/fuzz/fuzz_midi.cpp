// libFuzzer harness: Standard MIDI files (io/midi.h); what parses is written back and read again.
#include "fuzz_util.h"
#include "recurrent/io/midi.h"

using namespace recurrent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RECURRENT_FUZZ_EXPECT_ERRORS({
    const io::MidiFile m = io::parse_midi(std::vector<uint8_t>(data, data + size), "fuzz.mid");
    for (const io::MidiNote& n : m.notes)
      if (n.end <= n.start || n.pitch < 0 || n.pitch > 127 || n.channel < 0 || n.channel > 15) fuzz::fail("n.end <= n.start || n.pitch < 0 || n.pitch > 127 || n.channel < 0 || n.channel > 15");
    RECURRENT_FUZZ_EXPECT_ERRORS({
      const io::MidiFile back = io::parse_midi(io::encode_midi(m), "encoded");
      if (back.notes.size() != m.notes.size()) fuzz::fail("back.notes.size() != m.notes.size()");
    });
  });
  return 0;
}
