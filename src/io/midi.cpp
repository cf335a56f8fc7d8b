// Standard MIDI Files: writer (format 0) and reader (formats 0/1); contract in recurrent/io/midi.h.
#include "recurrent/io/midi.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <string_view>
#include <tuple>

#include "recurrent/core/error.h"
#include "recurrent/core/limits.h"
#include "recurrent/io/atomic_file.h"

namespace recurrent::io {

namespace {

void put_u32(std::vector<uint8_t>& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

// Variable-length quantity: 7 bits a byte, most significant first, high bit set on all but the last.
void put_vlq(std::vector<uint8_t>& b, uint32_t v) {
  uint8_t tmp[5];
  int n = 0;
  do {
    tmp[n++] = static_cast<uint8_t>(v & 0x7f);
    v >>= 7;
  } while (v);
  while (n-- > 0) b.push_back(static_cast<uint8_t>(tmp[n] | (n ? 0x80 : 0)));
}

struct Event {
  int64_t tick;
  int order;  // 0 note-off before 1 note-on at the same tick
  uint8_t status, a, b;
};

void check_note(const MidiNote& n, size_t i) {
  RC_CHECK(n.pitch >= 0 && n.pitch <= 127 && n.velocity >= 1 && n.velocity <= 127 && n.channel >= 0 &&
               n.channel <= 15 && n.start >= 0 && n.end > n.start && n.end < (int64_t{1} << 32),
           "midi", "note ", i, " (pitch ", n.pitch, ", ticks ", n.start, "-", n.end, ", velocity ", n.velocity,
           ", channel ", n.channel, ") is out of range");
}

// The reader's cursor over the bytes, with errors naming the file and the offset.
struct Reader {
  const std::vector<uint8_t>& b;
  const std::string& where;
  size_t pos = 0, end = 0;
  void need(size_t n, const char* what) const {
    RC_CHECK(pos + n <= end, where, "truncated MIDI file: ", what, " at byte ", pos, " runs past the end of its chunk");
  }
  uint8_t u8(const char* what) {
    need(1, what);
    return b[pos++];
  }
  uint32_t u32(const char* what) {
    need(4, what);
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | b[pos++];
    return v;
  }
  uint32_t vlq(const char* what) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const uint8_t c = u8(what);
      v = (v << 7) | (c & 0x7f);
      if (!(c & 0x80)) return v;
    }
    throw Error(where, "bad variable-length quantity (" + std::string(what) + ") before byte " + std::to_string(pos));
  }
};

// One track chunk's note events into `out` (sounding notes matched per channel and pitch).
void read_track(Reader& r, std::vector<MidiNote>& out) {
  std::map<std::pair<int, int>, std::pair<int64_t, int>> on;  // (channel, pitch) → (start, velocity)
  int64_t tick = 0;
  uint8_t running = 0;
  auto note_off = [&](int ch, int p) {
    auto it = on.find({ch, p});
    if (it == on.end()) return;
    if (tick > it->second.first) out.push_back({p, it->second.first, tick, it->second.second, ch});
    on.erase(it);
  };
  while (r.pos < r.end) {
    tick += r.vlq("delta time");
    uint8_t status = r.u8("event");
    if (status == 0xff) {  // meta: type, length, data
      const uint8_t type = r.u8("meta type");
      const uint32_t len = r.vlq("meta length");
      r.need(len, "meta data");
      r.pos += len;
      if (type == 0x2f) break;
      continue;
    }
    if (status == 0xf0 || status == 0xf7) {  // sysex
      const uint32_t len = r.vlq("sysex length");
      r.need(len, "sysex data");
      r.pos += len;
      continue;
    }
    if (status < 0x80) {  // running status: this byte is the first data byte
      RC_CHECK(running, r.where, "data byte 0x", std::hex, int(status), std::dec, " without a status at byte ", r.pos - 1);
      --r.pos;
      status = running;
    }
    running = status;
    const int kind = status >> 4, ch = status & 0x0f;
    const uint8_t a = r.u8("event data");
    const uint8_t b = (kind == 0xc || kind == 0xd) ? 0 : r.u8("event data");
    // Data bytes are 7-bit (a status byte here means a truncated or corrupt event): a pitch or a
    // velocity past 127 would otherwise reach the notes.
    RC_CHECK(a < 0x80 && b < 0x80, r.where, "event 0x", std::hex, int(status), " with data byte 0x",
             int(a < 0x80 ? b : a), std::dec, " before byte ", r.pos, " (expected 0..127)");
    if (kind == 0x9 && b > 0) {
      note_off(ch, a);
      on[{ch, a}] = {tick, b};
    } else if (kind == 0x8 || kind == 0x9) {
      note_off(ch, a);
    }
  }
  for (auto& [key, v] : on)  // notes never switched off end at the track's end
    if (tick > v.first) out.push_back({key.second, v.first, tick, v.second, key.first});
}

// Tracks merged (format 1) can sound one (channel, pitch) twice at once, which one channel of one
// track cannot say: as within a track, a note starting while another of its key sounds ends that one
// there (a note left with no length is dropped). Sorts by (start, pitch, channel).
void merge_overlaps(std::vector<MidiNote>& notes) {
  std::sort(notes.begin(), notes.end(), [](const MidiNote& a, const MidiNote& b) {
    return std::tie(a.channel, a.pitch, a.start, a.end) < std::tie(b.channel, b.pitch, b.start, b.end);
  });
  for (size_t i = 0; i + 1 < notes.size(); ++i)
    if (notes[i + 1].channel == notes[i].channel && notes[i + 1].pitch == notes[i].pitch)
      notes[i].end = std::min(notes[i].end, notes[i + 1].start);
  std::erase_if(notes, [](const MidiNote& n) { return n.end <= n.start; });
  std::sort(notes.begin(), notes.end(), [](const MidiNote& a, const MidiNote& b) {
    return std::tie(a.start, a.pitch, a.channel) < std::tie(b.start, b.pitch, b.channel);
  });
}

}  // namespace

std::vector<uint8_t> encode_midi(const MidiFile& m) {
  RC_CHECK(m.ticks_per_quarter >= 1 && m.ticks_per_quarter < 0x8000, "midi", "ticks per quarter ",
           m.ticks_per_quarter, " (expected 1..32767)");
  RC_CHECK(m.tempo >= 1 && m.tempo < (1 << 24), "midi", "tempo ", m.tempo, " us per quarter (expected 1..16777215)");
  RC_CHECK(m.program >= 0 && m.program <= 127, "midi", "program ", m.program, " (expected 0..127)");
  std::vector<Event> ev;
  bool channel_used[16] = {};
  for (size_t i = 0; i < m.notes.size(); ++i) {
    const MidiNote& n = m.notes[i];
    check_note(n, i);
    channel_used[n.channel] = true;
    const uint8_t p = static_cast<uint8_t>(n.pitch);
    ev.push_back({n.start, 1, static_cast<uint8_t>(0x90 | n.channel), p, static_cast<uint8_t>(n.velocity)});
    ev.push_back({n.end, 0, static_cast<uint8_t>(0x80 | n.channel), p, 0x40});
  }
  std::stable_sort(ev.begin(), ev.end(), [](const Event& x, const Event& y) {
    return std::tie(x.tick, x.order, x.a) < std::tie(y.tick, y.order, y.a);
  });
  std::vector<uint8_t> track;
  put_vlq(track, 0);  // tempo: FF 51 03 tttttt
  for (uint8_t c : {0xff, 0x51, 0x03}) track.push_back(c);
  for (int s = 16; s >= 0; s -= 8) track.push_back(static_cast<uint8_t>(m.tempo >> s));
  for (int ch = 0; ch < 16; ++ch)
    if (channel_used[ch]) {
      put_vlq(track, 0);
      track.push_back(static_cast<uint8_t>(0xc0 | ch));
      track.push_back(static_cast<uint8_t>(m.program));
    }
  int64_t last = 0;
  for (const Event& e : ev) {
    put_vlq(track, static_cast<uint32_t>(e.tick - last));
    last = e.tick;
    for (uint8_t c : {e.status, e.a, e.b}) track.push_back(c);
  }
  put_vlq(track, 0);
  for (uint8_t c : {0xff, 0x2f, 0x00}) track.push_back(c);
  std::vector<uint8_t> out = {'M', 'T', 'h', 'd'};
  put_u32(out, 6);
  for (uint8_t c : {0, 0, 0, 1}) out.push_back(c);  // format 0, one track
  out.push_back(static_cast<uint8_t>(m.ticks_per_quarter >> 8));
  out.push_back(static_cast<uint8_t>(m.ticks_per_quarter & 0xff));
  for (uint8_t c : {'M', 'T', 'r', 'k'}) out.push_back(c);
  put_u32(out, static_cast<uint32_t>(track.size()));
  out.insert(out.end(), track.begin(), track.end());
  return out;
}

void write_midi(const std::string& path, const MidiFile& m) {
  const std::vector<uint8_t> b = encode_midi(m);
  write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

MidiFile parse_midi(const std::vector<uint8_t>& bytes, const std::string& where) {
  Reader r{bytes, where, 0, bytes.size()};
  RC_CHECK(bytes.size() >= 14 && std::equal(bytes.begin(), bytes.begin() + 4, "MThd"), where,
           "not a Standard MIDI File (no MThd header)");
  r.pos = 4;
  const uint32_t hlen = r.u32("header length");
  RC_CHECK(hlen >= 6 && 8 + size_t{hlen} <= bytes.size(), where, "bad MThd length ", hlen);
  const int format = (bytes[8] << 8) | bytes[9], ntracks = (bytes[10] << 8) | bytes[11];
  const int division = (bytes[12] << 8) | bytes[13];
  RC_CHECK(format == 0 || format == 1, where, "MIDI format ", format, " (expected 0 or 1)");
  RC_CHECK(!(division & 0x8000) && division > 0, where, "SMPTE or zero time division (expected ticks per quarter)");
  MidiFile m;
  m.ticks_per_quarter = division;
  r.pos = 8 + hlen;
  for (int t = 0; t < ntracks; ++t) {
    r.end = bytes.size();
    r.need(8, "track header");
    RC_CHECK(std::equal(bytes.begin() + r.pos, bytes.begin() + r.pos + 4, "MTrk"), where, "expected track ", t,
             " (MTrk) at byte ", r.pos);
    r.pos += 4;
    const uint32_t len = r.u32("track length");
    RC_CHECK(r.pos + len <= bytes.size(), where, "track ", t, " of ", len, " bytes runs past the end of the file");
    r.end = r.pos + len;
    // Tempo: the first FF 51 seen (scan the chunk; events are read by read_track below).
    for (size_t i = r.pos; i + 5 < r.end && m.tempo == 500000; ++i)
      if (bytes[i] == 0xff && bytes[i + 1] == 0x51 && bytes[i + 2] == 0x03)
        m.tempo = (bytes[i + 3] << 16) | (bytes[i + 4] << 8) | bytes[i + 5];
    const size_t next = r.end;
    read_track(r, m.notes);
    r.pos = next;
  }
  merge_overlaps(m.notes);
  return m;
}

MidiFile read_midi(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  RC_CHECK(f, path, "cannot open for reading");
  check_input_file_size(path);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return parse_midi(bytes, path);
}

std::vector<MidiNote> notes_from_steps(const std::vector<std::vector<int64_t>>& steps, int64_t ticks_per_step,
                                       int velocity, int channel) {
  RC_CHECK(ticks_per_step >= 1, "midi", "ticks per step ", ticks_per_step, " (expected >= 1)");
  std::vector<MidiNote> out;
  std::map<int64_t, int64_t> sounding;  // pitch → start step
  const int64_t T = static_cast<int64_t>(steps.size());
  for (int64_t t = 0; t <= T; ++t) {
    const std::vector<int64_t> none;
    const std::vector<int64_t>& now = t < T ? steps[t] : none;
    for (auto it = sounding.begin(); it != sounding.end();) {  // notes that stop sounding at t
      if (std::find(now.begin(), now.end(), it->first) == now.end()) {
        out.push_back({static_cast<int>(it->first), it->second * ticks_per_step, t * ticks_per_step, velocity, channel});
        it = sounding.erase(it);
      } else {
        ++it;
      }
    }
    for (int64_t p : now) sounding.emplace(p, t);  // no-op for a held note
  }
  std::sort(out.begin(), out.end(), [](const MidiNote& a, const MidiNote& b) {
    return std::tie(a.start, a.pitch) < std::tie(b.start, b.pitch);
  });
  return out;
}

std::vector<std::vector<int64_t>> steps_from_notes(const std::vector<MidiNote>& notes, int64_t ticks_per_step,
                                                   int64_t steps) {
  RC_CHECK(ticks_per_step >= 1, "midi", "ticks per step ", ticks_per_step, " (expected >= 1)");
  for (const MidiNote& n : notes) steps = std::max(steps, (n.end + ticks_per_step - 1) / ticks_per_step);
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(steps));
  for (const MidiNote& n : notes)
    for (int64_t t = n.start / ticks_per_step; t * ticks_per_step < n.end; ++t) out[t].push_back(n.pitch);
  for (auto& s : out) {
    std::sort(s.begin(), s.end());
    s.erase(std::unique(s.begin(), s.end()), s.end());
  }
  return out;
}

}  // namespace recurrent::io
