// recurrent/io/midi.h — a small Standard MIDI File writer and reader (for `recurrent sample` on a
// music model, and for the tests that read its files back).
//
// Written files: format 0 (one track), `ticks_per_quarter` ticks per quarter note (division > 0, no
// SMPTE), a tempo meta event (FF 51, µs per quarter), a program change per channel used, then the
// notes as note-on (9n, velocity > 0) / note-off (8n, velocity 0x40) pairs in time order (at one
// tick, offs before ons, so a note that ends where another of the same pitch starts stays two notes),
// delta times as variable-length quantities, and the end-of-track meta event (FF 2F 00).
// Spec: "Standard MIDI-File Format Spec. 1.1" (MIDI Manufacturers Association).
//
// The reader takes formats 0 and 1 (all tracks merged), running status, note-on with velocity 0 as
// note-off, and skips meta / sysex / other channel events; it errors (recurrent::Error naming the
// file and the byte offset) on a bad header, a chunk running past the end, a truncated event, an
// SMPTE division. A note-on for a pitch already sounding on that channel ends the earlier note first,
// across merged tracks too (a note left with no length is dropped): the notes of one (channel, pitch)
// never overlap, so what is read writes back to the same notes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace recurrent::io {

struct MidiNote {
  int pitch = 60;         // 0..127
  int64_t start = 0;      // ticks
  int64_t end = 0;        // ticks, > start
  int velocity = 80;      // 1..127
  int channel = 0;        // 0..15
  bool operator==(const MidiNote& o) const {
    return pitch == o.pitch && start == o.start && end == o.end && velocity == o.velocity && channel == o.channel;
  }
};

struct MidiFile {
  int ticks_per_quarter = 480;
  int64_t tempo = 500000;  // µs per quarter note (500000: 120 quarters a minute)
  int program = 0;         // General MIDI program of every channel used (0: acoustic grand piano)
  std::vector<MidiNote> notes;  // the reader returns them sorted by (start, pitch, channel)
};

std::vector<uint8_t> encode_midi(const MidiFile& m);  // throws Error("midi", ...) on out-of-range notes
void write_midi(const std::string& path, const MidiFile& m);  // atomic (temp file + rename)
MidiFile parse_midi(const std::vector<uint8_t>& bytes, const std::string& where);
MidiFile read_midi(const std::string& path);

// Piano-roll steps (the sounding MIDI pitches of each time step) → notes of `ticks_per_step` ticks per
// step: a pitch sounding at consecutive steps is ONE held note (the rolls cannot tell a held note from
// a repeated one).
std::vector<MidiNote> notes_from_steps(const std::vector<std::vector<int64_t>>& steps, int64_t ticks_per_step,
                                       int velocity = 80, int channel = 0);
// The inverse for notes that start and end on step boundaries: steps[t] = the pitches sounding in
// [t·ticks_per_step, (t+1)·ticks_per_step), ascending; `steps` entries (at least as many as the notes need).
std::vector<std::vector<int64_t>> steps_from_notes(const std::vector<MidiNote>& notes, int64_t ticks_per_step,
                                                   int64_t steps = 0);

}  // namespace recurrent::io
