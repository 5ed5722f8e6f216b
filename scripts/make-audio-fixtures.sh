#!/usr/bin/env bash
# make-audio-fixtures.sh — regenerates every audio fixture committed in this repo.
#
# Writes:
#   local/sample/sample.ogg              bundled sample for `npm start`: a Russian two-speaker
#                                        dialogue, OGG/Opus mono 16 kHz ~24 kbit/s (like a Telegram
#                                        voice message)
#   local/sample/sample.transcript.json  the known AssemblyAI-shaped transcript of that sample
#                                        (times in ms, audio_duration in s), served by the emulator
#   test/fixtures/audio/*                one English phrase in every supported container, plus
#                                        non-audio, empty, truncated and too-short files
#                                        (listed in test/fixtures/audio/README.md)
#
# Requires espeak-ng, sox, ffmpeg (with libopus and libmp3lame) and python3.
# Idempotent and deterministic: the same tool versions produce byte-identical files
# (sox runs without dither, ffmpeg with bitexact flags; the PRNG seed and zip timestamps are fixed).
#
# Usage: scripts/make-audio-fixtures.sh            everything below
#        scripts/make-audio-fixtures.sh --corpus   only section 4, test/fixtures/audio/corpus/
#                                                  (needs apt-get download, dpkg-deb, opusenc)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SAMPLE_DIR="$ROOT/local/sample"
FIXTURES="$ROOT/test/fixtures/audio"

for tool in espeak-ng sox soxi ffmpeg ffprobe python3; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$SAMPLE_DIR" "$FIXTURES"

FF=(ffmpeg -hide_banner -loglevel error -y)
BITEXACT=(-fflags +bitexact -flags:a +bitexact -map_metadata -1)

# ---------------------------------------------------------------------------
# 4. The corpus (test/fixtures/audio/corpus/): one small REAL file per format AssemblyAI lists, and
#    the non-media files that must be refused. Real recordings come from Debian packages (fetched
#    with `apt-get download`, unpacked with `dpkg-deb -x`, never installed); the rest are encoded
#    from them with ffmpeg/sox/opusenc. ffprobe's durations go into manifest.json, which the tests
#    read (they never run these tools).
# ---------------------------------------------------------------------------
make_corpus() {
  local CORPUS="$FIXTURES/corpus" DEB="$WORK/deb"
  for tool in apt-get dpkg-deb opusenc; do
    command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
  done
  mkdir -p "$CORPUS" "$DEB"
  rm -f "$CORPUS"/*.* 2>/dev/null || true
  (cd "$DEB" && apt-get download -q sound-theme-freedesktop=0.8-2 asterisk-core-sounds-en-wav=1.6.1-1 >/dev/null 2>&1)
  for deb in "$DEB"/*.deb; do dpkg-deb -x "$deb" "$DEB/x"; done
  local ALLISON="$DEB/x/usr/share/asterisk/sounds/en_US_f_Allison"
  local THEME="$DEB/x/usr/share/sounds/freedesktop/stereo"
  local SPEECH="$WORK/speech.wav" SHORT="$WORK/short.wav"
  # 5.65 s of real speech, "Please leave your message after the tone…" (8 kHz mono PCM).
  cp "$ALLISON/vm-intro.wav" "$SPEECH"
  # 1.40 s, "Hello world": for the lossless formats, which would be too large at 5.65 s.
  cp "$ALLISON/hello-world.wav" "$SHORT"
  local A=(-fflags +bitexact -flags:a +bitexact -map_metadata -1)
  local V=(-fflags +bitexact -flags +bitexact -map_metadata -1)
  # A tiny moving test picture: video tracks cost little and their pages/packets interleave.
  local PICTURE=(-f lavfi -i "testsrc=size=32x24:rate=4:duration=5.7")
  cd "$CORPUS"

  # Files exactly as Debian ships them.
  cp "$ALLISON/hello-world.wav" asterisk-hello-world.wav     # asterisk-core-sounds-en-wav, CC-BY-SA-3.0
  cp "$THEME/bell.oga" freedesktop-bell.oga                   # sound-theme-freedesktop, CC-BY-3.0
  cp "$THEME/phone-outgoing-calling.oga" freedesktop-phone-outgoing-calling.oga # GPL-2+

  # Phones and messengers.
  opusenc --quiet --bitrate 16 --comp 10 --serial 1 "$SPEECH" telegram-voice.ogg
  sox -D -R "$SPEECH" -t amr-nb -C 7 amr-nb.amr
  "${FF[@]}" -i amr-nb.amr -c copy "${A[@]}" -f 3gp amr-nb.3gp
  "${FF[@]}" -i amr-nb.amr -c copy "${A[@]}" -f 3gp amr-nb.3ga
  "${FF[@]}" -i "$SPEECH" -c:a aac -b:a 24k "${A[@]}" aac.m4a
  "${FF[@]}" -i "$SPEECH" -c:a aac -b:a 24k "${A[@]}" -f adts aac.aac
  "${FF[@]}" -i "$SPEECH" -c:a libopus -b:a 16k "${A[@]}" opus.webm
  # What a browser's MediaRecorder uploads: WebM written to a pipe, so no Duration and no Cues.
  "${FF[@]}" -i "$SPEECH" -c:a libopus -b:a 16k "${A[@]}" -f webm pipe:1 > streamed.webm
  "${FF[@]}" -i "$SPEECH" -c:a libopus -b:a 16k "${A[@]}" opus.opus

  # The other audio formats on AssemblyAI's list.
  "${FF[@]}" -i "$SPEECH" -c:a libmp3lame -b:a 24k "${A[@]}" -id3v2_version 0 cbr.mp3
  "${FF[@]}" -i "$SPEECH" -c:a libmp3lame -q:a 7 "${A[@]}" -id3v2_version 0 vbr-xing.mp3
  "${FF[@]}" -i "$SPEECH" -c:a libmp3lame -q:a 7 "${A[@]}" -id3v2_version 0 -write_xing 0 vbr-no-xing.mp3
  "${FF[@]}" -i "$SPEECH" -c:a libmp3lame -b:a 24k "${A[@]}" -id3v2_version 3 \
    -metadata title='A voice note' id3-tagged.mp3
  "${FF[@]}" -i "$SPEECH" -ar 32000 -c:a ac3 -b:a 32k "${A[@]}" ac3.ac3
  "${FF[@]}" -i "$SPEECH" -c:a libvorbis -q:a 0 "${A[@]}" vorbis.ogg
  "${FF[@]}" -i "$SHORT" -c:a flac "${A[@]}" flac.flac
  "${FF[@]}" -i "$SHORT" -c:a flac "${A[@]}" -f ogg ogg-flac.oga
  "${FF[@]}" -i "$SHORT" -c:a pcm_s16be "${A[@]}" aiff.aiff
  "${FF[@]}" -i "$SHORT" -c:a alac "${A[@]}" alac.m4a
  "${FF[@]}" -i "$SHORT" -c:a wavpack "${A[@]}" wavpack.wv
  "${FF[@]}" -i "$SHORT" -c:a tta "${A[@]}" tta.tta
  "${FF[@]}" -i "$SHORT" -c:a pcm_mulaw "${A[@]}" -f au sun.au
  sox -D -R "$SHORT" -t voc creative.voc
  "${FF[@]}" -i "$SPEECH" -c:a wmav2 -b:a 24k "${A[@]}" wma.wma
  "${FF[@]}" -i "$SHORT" -c:a pcm_mulaw "${A[@]}" mulaw.wav

  # Video containers with an audio track (the audio is what AssemblyAI transcribes).
  "${FF[@]}" "${PICTURE[@]}" -i "$SPEECH" -shortest -c:v libx264 -preset ultrafast -crf 51 -pix_fmt yuv420p \
    -c:a aac -b:a 16k "${V[@]}" video.mp4
  "${FF[@]}" -i video.mp4 -c copy "${V[@]}" -f mov video.mov
  "${FF[@]}" -i video.mp4 -c copy "${V[@]}" -f ipod video.m4v
  "${FF[@]}" -i video.mp4 -c copy "${V[@]}" -f mpegts video.m2t
  "${FF[@]}" -i video.mp4 -c copy "${V[@]}" -f mpegts -mpegts_m2ts_mode 1 video.m2ts
  "${FF[@]}" "${PICTURE[@]}" -i "$SPEECH" -shortest -c:v libvpx -b:v 20k -c:a libopus -b:a 16k "${V[@]}" video.webm
  "${FF[@]}" "${PICTURE[@]}" -i "$SPEECH" -shortest -c:v libvpx -b:v 20k -c:a libopus -b:a 16k "${V[@]}" \
    -f webm pipe:1 > video-streamed.webm
  "${FF[@]}" "${PICTURE[@]}" -i "$SPEECH" -shortest -c:v flv1 -q:v 31 -ar 22050 -c:a libmp3lame -b:a 24k "${V[@]}" video.flv
  "${FF[@]}" "${PICTURE[@]}" -i "$SPEECH" -shortest -c:v wmv2 -q:v 31 -c:a wmav2 -b:a 24k "${V[@]}" video.wmv
  "${FF[@]}" "${PICTURE[@]}" -i "$SPEECH" -shortest -c:v mpeg4 -q:v 31 -c:a libmp3lame -b:a 24k "${V[@]}" video.avi
  "${FF[@]}" "${PICTURE[@]}" -i "$SPEECH" -shortest -r 25 -c:v mpeg2video -q:v 31 -ar 32000 -c:a mp2 -b:a 32k \
    "${V[@]}" -f vob video.mpg
  # MXF stores 48 kHz PCM only: 0.25 s of it keeps the file small.
  "${FF[@]}" -f lavfi -i "testsrc=size=32x24:rate=25:duration=0.25" -ss 0.5 -t 0.25 -i "$SHORT" -c:v mpeg2video \
    -q:v 31 -ar 48000 -c:a pcm_s16le "${V[@]}" -f mxf video.mxf
  # Theora video + Vorbis audio, the video running 3 s longer: the file's last pages are video.
  "${FF[@]}" -f lavfi -i "testsrc=size=32x24:rate=4:duration=8.7" -i "$SPEECH" -c:v libtheora -q:v 0 \
    -c:a libvorbis -q:a 0 "${V[@]}" theora-vorbis.ogv

  # Chained Ogg: two complete Ogg/Opus files concatenated byte for byte (what some recorders and
  # streams write). 5.65 s + 0.1 s, and 0.1 s + 5.65 s.
  sox -D -R "$SHORT" "$WORK/tenth.wav" trim 0.5 0.1
  opusenc --quiet --bitrate 16 --serial 2 "$WORK/tenth.wav" "$WORK/tenth.ogg"
  cat telegram-voice.ogg "$WORK/tenth.ogg" > chained-long-short.ogg
  cat "$WORK/tenth.ogg" telegram-voice.ogg > chained-short-long.ogg
  cp "$WORK/tenth.ogg" too-short.ogg

  # Must be refused: video without audio, and files that are not media at all.
  "${FF[@]}" "${PICTURE[@]}" -c:v libx264 -preset ultrafast -crf 51 -pix_fmt yuv420p "${V[@]}" no-audio.mp4
  "${FF[@]}" "${PICTURE[@]}" -c:v libvpx -b:v 20k "${V[@]}" no-audio.webm
  "${FF[@]}" "${PICTURE[@]}" -c:v libtheora -q:v 0 "${V[@]}" no-audio.ogv
  "${FF[@]}" -f lavfi -i color=c=blue:s=16x16 -frames:v 1 "${V[@]}" -f image2 -c:v mjpeg photo.jpg.mp3
  "${FF[@]}" -f lavfi -i color=c=red:s=8x8 -frames:v 1 "${V[@]}" -f image2 -c:v png image.png
  "${FF[@]}" -f lavfi -i color=c=red:s=8x8 -frames:v 1 "${V[@]}" -f gif image.gif.ogg
  cp "$FIXTURES/doc.pdf.mp3" document.pdf
  cp "$FIXTURES/archive.zip.ogg" archive.zip
  cp "$FIXTURES/page.html.ogg" page.html
  printf 'Meeting notes: call Anna back on Monday.\n' > notes.txt.m4a
  cp "$FIXTURES/random.mp3" random.bin
  : > empty.ogg

  # The manifest: what each file is, what must happen to it, and what ffprobe says it lasts.
  python3 - "$CORPUS" <<'PY'
import json, os, subprocess, sys

corpus = sys.argv[1]
# file -> (format, expected, message_contains); expected: accept | refuse:<ErrorType>
table = {
    "asterisk-hello-world.wav": ("WAV, PCM 16-bit 8 kHz (Debian)", "accept", None),
    "freedesktop-bell.oga": ("Ogg Vorbis, a 0.14 s bell (Debian)", "refuse:AudioTooShort", "the minimum is"),
    "freedesktop-phone-outgoing-calling.oga": ("Ogg Vorbis (Debian)", "accept", None),
    "telegram-voice.ogg": ("Ogg Opus (opusenc)", "accept", None),
    "amr-nb.amr": ("AMR-NB", "accept", None),
    "amr-nb.3gp": ("3GP with AMR-NB", "accept", None),
    "amr-nb.3ga": ("3GA (3GP) with AMR-NB", "accept", None),
    "aac.m4a": ("M4A, AAC-LC", "accept", None),
    "aac.aac": ("AAC in ADTS", "accept", None),
    "opus.webm": ("WebM, Opus", "accept", None),
    "streamed.webm": ("WebM, Opus, streamed (no Duration)", "accept", None),
    "opus.opus": ("Ogg Opus (ffmpeg)", "accept", None),
    "cbr.mp3": ("MP3 CBR", "accept", None),
    "vbr-xing.mp3": ("MP3 VBR with a Xing header", "accept", None),
    "vbr-no-xing.mp3": ("MP3 VBR without a Xing header", "accept", None),
    "id3-tagged.mp3": ("MP3 with an ID3v2.3 tag", "accept", None),
    "ac3.ac3": ("AC-3", "accept", None),
    "vorbis.ogg": ("Ogg Vorbis (ffmpeg)", "accept", None),
    "flac.flac": ("FLAC", "accept", None),
    "ogg-flac.oga": ("Ogg FLAC", "accept", None),
    "aiff.aiff": ("AIFF", "accept", None),
    "alac.m4a": ("M4A, ALAC", "accept", None),
    "wavpack.wv": ("WavPack", "accept", None),
    "tta.tta": ("TTA (True Audio)", "accept", None),
    "sun.au": ("Sun/NeXT .au, mu-law", "accept", None),
    "creative.voc": ("Creative Voice .voc", "accept", None),
    "wma.wma": ("ASF, WMA v2", "accept", None),
    "mulaw.wav": ("WAV, mu-law", "accept", None),
    "video.mp4": ("MP4, H.264 + AAC", "accept", None),
    "video.mov": ("QuickTime, H.264 + AAC", "accept", None),
    "video.m4v": ("M4V, H.264 + AAC", "accept", None),
    "video.m2t": ("MPEG-TS (.ts), H.264 + AAC; named .m2t as .ts is TypeScript here", "accept", None),
    "video.m2ts": ("M2TS, H.264 + AAC", "accept", None),
    "video.webm": ("WebM, VP8 + Opus", "accept", None),
    "video-streamed.webm": ("WebM, VP8 + Opus, streamed", "accept", None),
    "video.flv": ("FLV, Sorenson + MP3", "accept", None),
    "video.wmv": ("ASF, WMV2 + WMA v2", "accept", None),
    "video.avi": ("AVI, MPEG-4 + MP3", "accept", None),
    "video.mpg": ("MPEG-PS, MPEG-2 + MP2", "accept", None),
    "video.mxf": ("MXF, MPEG-2 + PCM, 0.25 s", "accept", None),
    "theora-vorbis.ogv": ("Ogg, Theora + Vorbis (video longer)", "accept", None),
    "chained-long-short.ogg": ("chained Ogg Opus, 5.65 s + 0.1 s", "accept", None),
    "chained-short-long.ogg": ("chained Ogg Opus, 0.1 s + 5.65 s", "accept", None),
    "too-short.ogg": ("Ogg Opus, 0.1 s", "refuse:AudioTooShort", "the minimum is"),
    "no-audio.mp4": ("MP4, H.264, no audio track", "refuse:UnsupportedAudioFormat", "no audio track"),
    "no-audio.webm": ("WebM, VP8, no audio track", "refuse:UnsupportedAudioFormat", "no audio track"),
    "no-audio.ogv": ("Ogg, Theora, no audio track", "refuse:UnsupportedAudioFormat", "no audio track"),
    "photo.jpg.mp3": ("JPEG named .mp3", "refuse:UnsupportedAudioFormat", "image"),
    "image.png": ("PNG", "refuse:UnsupportedAudioFormat", "image"),
    "image.gif.ogg": ("GIF named .ogg", "refuse:UnsupportedAudioFormat", "image"),
    "document.pdf": ("PDF", "refuse:UnsupportedAudioFormat", "PDF"),
    "archive.zip": ("ZIP", "refuse:UnsupportedAudioFormat", "archive"),
    "page.html": ("HTML", "refuse:UnsupportedAudioFormat", "web page"),
    "notes.txt.m4a": ("text named .m4a", "refuse:UnsupportedAudioFormat", "text"),
    "random.bin": ("random bytes", "refuse:UnsupportedAudioFormat", "not a recognizable"),
    "empty.ogg": ("0 bytes", "refuse:AudioEmpty", "empty"),
}

def probe(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=format_name,duration:stream=codec_type,codec_name,duration",
         "-of", "json", path], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)

manifest = {}
for name in sorted(os.listdir(corpus)):
    if name in ("manifest.json", "README.md"):
        continue
    if name not in table:
        sys.exit(f"not in the manifest table: {name}")
    fmt, expected, contains = table[name]
    p = probe(os.path.join(corpus, name))
    fd = p and p.get("format", {}).get("duration")
    audio = [s for s in (p or {}).get("streams", []) if s.get("codec_type") == "audio"]
    ad = audio[0].get("duration") if audio else None
    entry = {
        "format": fmt,
        "expected": expected.split(":")[0],
        "size_bytes": os.path.getsize(os.path.join(corpus, name)),
        "ffprobe_format": p and p.get("format", {}).get("format_name"),
        "ffprobe_audio_codec": audio[0].get("codec_name") if audio else None,
        "ffprobe_duration": round(float(fd), 3) if fd else None,
        "ffprobe_audio_duration": round(float(ad), 3) if ad else None,
    }
    if name.startswith("chained-"):
        # ffprobe reads one link of a chained Ogg; the truth is the sum of the two files chained.
        parts = [probe(os.path.join(corpus, part)) for part in ("telegram-voice.ogg", "too-short.ogg")]
        entry["expected_duration"] = round(sum(float(q["format"]["duration"]) for q in parts), 3)
    if expected.startswith("refuse:"):
        entry["error"] = expected.split(":")[1]
        entry["message_contains"] = contains
    manifest[name] = entry
missing = set(table) - set(manifest)
if missing:
    sys.exit(f"not made: {sorted(missing)}")
with open(os.path.join(corpus, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=2)
    f.write("\n")
PY
  local oversized total
  oversized="$(find "$CORPUS" -type f -size +50k)"
  if [[ -n "$oversized" ]]; then
    echo "corpus files over 50 KB:" >&2
    echo "$oversized" >&2
    exit 1
  fi
  total="$(du -cb "$CORPUS"/* | tail -1 | cut -f1)"
  echo "corpus: $(ls "$CORPUS" | wc -l) files, $total bytes"
  cd "$ROOT"
}

if [[ "${1:-}" == "--corpus" ]]; then
  make_corpus
  exit 0
fi

# Speaks text with espeak-ng, converts to 16 kHz mono and trims leading/trailing silence.
speak() { # voice pitch words-per-minute text out.wav
  espeak-ng -v "$1" -p "$2" -s "$3" -w "$WORK/raw.wav" "$4"
  sox -D -R "$WORK/raw.wav" -r 16000 -c 1 -b 16 "$5" \
    silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse
}

# ---------------------------------------------------------------------------
# 1. Bundled sample: A / B / A with 0.4 s between turns and 0.25 s lead-in/out.
# ---------------------------------------------------------------------------
speak ru 50 150 'Привет, как дела?' "$WORK/turn1.wav"
speak ru+f3 80 150 'Хорошо, спасибо. А у тебя?' "$WORK/turn2.wav"
speak ru 50 150 'Тоже хорошо.' "$WORK/turn3.wav"
sox -D -R -n -r 16000 -c 1 -b 16 "$WORK/lead.wav" trim 0 0.25
sox -D -R -n -r 16000 -c 1 -b 16 "$WORK/gap.wav" trim 0 0.4
sox -D -R "$WORK/lead.wav" "$WORK/turn1.wav" "$WORK/gap.wav" "$WORK/turn2.wav" "$WORK/gap.wav" \
  "$WORK/turn3.wav" "$WORK/lead.wav" "$WORK/sample.wav"

"${FF[@]}" -i "$WORK/sample.wav" -c:a libopus -b:a 24k -ar 16000 -ac 1 -application voip \
  "${BITEXACT[@]}" "$SAMPLE_DIR/sample.ogg"

# Turn boundaries from exact sample counts; words spread over each turn by length.
python3 - "$SAMPLE_DIR/sample.transcript.json" \
  "$(soxi -s "$WORK/lead.wav")" "$(soxi -s "$WORK/gap.wav")" \
  "$(soxi -s "$WORK/turn1.wav")" "$(soxi -s "$WORK/turn2.wav")" "$(soxi -s "$WORK/turn3.wav")" \
  "$(soxi -s "$WORK/sample.wav")" <<'PY'
import json, sys

out, lead, gap, n1, n2, n3, total = sys.argv[1], *map(int, sys.argv[2:])
rate = 16000
ms = lambda samples: round(samples * 1000 / rate)
turns = [("A", "Привет, как дела?", n1), ("B", "Хорошо, спасибо. А у тебя?", n2), ("A", "Тоже хорошо.", n3)]
confidence = [0.97, 0.95, 0.98]

words, utterances, cursor = [], [], lead
for (speaker, text, n), conf in zip(turns, confidence):
    start, end = cursor, cursor + n
    tokens = text.split()
    weights = [len(t) + 1 for t in tokens]
    spent, turn_words = 0, []
    for token, weight in zip(tokens, weights):
        w_start = start + n * spent // sum(weights)
        spent += weight
        w_end = start + n * spent // sum(weights)
        turn_words.append({"text": token, "start": ms(w_start), "end": ms(w_end),
                           "confidence": conf, "speaker": speaker})
    words += turn_words
    utterances.append({"speaker": speaker, "text": text, "start": ms(start), "end": ms(end),
                       "confidence": conf, "words": turn_words})
    cursor = end + gap

body = {
    "language_code": "ru",
    "audio_duration": round(total / rate, 3),
    "text": " ".join(t for _, t, _ in turns),
    "confidence": round(sum(w["confidence"] for w in words) / len(words), 4),
    "words": words,
    "utterances": utterances,
}
with open(out, "w", encoding="utf-8") as f:
    json.dump(body, f, ensure_ascii=False, indent=2)
    f.write("\n")
PY

# ---------------------------------------------------------------------------
# 2. Test fixtures: one English phrase in every container the workflow accepts.
# ---------------------------------------------------------------------------
speak en-us 50 200 'hello world, this is a test' "$WORK/hello.wav"
cd "$FIXTURES"
"${FF[@]}" -i "$WORK/hello.wav" -c:a libopus -b:a 24k -application voip "${BITEXACT[@]}" hello.ogg
"${FF[@]}" -i "$WORK/hello.wav" -c:a libmp3lame -b:a 32k "${BITEXACT[@]}" -id3v2_version 0 hello.mp3
"${FF[@]}" -i "$WORK/hello.wav" -c:a aac -b:a 32k "${BITEXACT[@]}" hello.m4a
"${FF[@]}" -i "$WORK/hello.wav" -ar 8000 -c:a pcm_s16le "${BITEXACT[@]}" hello.wav
"${FF[@]}" -i "$WORK/hello.wav" -c:a libopus -b:a 24k -application voip "${BITEXACT[@]}" hello.webm
"${FF[@]}" -i "$WORK/hello.wav" -ar 8000 -c:a flac "${BITEXACT[@]}" hello.flac

# 0.1 s of speech from the middle of the phrase: below AssemblyAI's minimum duration.
sox -D -R "$WORK/hello.wav" "$WORK/tiny.wav" trim 0.5 0.1
"${FF[@]}" -i "$WORK/tiny.wav" -c:a libopus -b:a 24k -application voip "${BITEXACT[@]}" tiny.ogg

cp hello.ogg hello-ogg-named.mp3
head -c $(( $(stat -c %s hello.ogg) * 40 / 100 )) hello.ogg > truncated.ogg
: > empty.mp3
printf 'O' > one-byte.ogg
printf 'This is a plain text file, not audio.\n' > not-audio.txt.mp3
printf '<!DOCTYPE html>\n<html><head><title>Not found</title></head><body><h1>404 Not Found</h1></body></html>\n' \
  > page.html.ogg
"${FF[@]}" -f lavfi -i color=c=red:s=8x8 -frames:v 1 -fflags +bitexact -flags:v +bitexact -c:v png -f image2 image.png.mp3

python3 - <<'PY'
import random, zipfile

# A minimal valid one-page PDF with a correct xref table.
objects = [
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] >>",
]
pdf = bytearray(b"%PDF-1.4\n")
offsets = []
for i, body in enumerate(objects, start=1):
    offsets.append(len(pdf))
    pdf += b"%d 0 obj\n" % i + body + b"\nendobj\n"
xref = len(pdf)
pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
pdf += b"".join(b"%010d 00000 n \n" % o for o in offsets)
pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
open("doc.pdf.mp3", "wb").write(pdf)

info = zipfile.ZipInfo("readme.txt", date_time=(2020, 1, 1, 0, 0, 0))
with zipfile.ZipFile("archive.zip.ogg", "w") as z:
    z.writestr(info, "not audio\n")

open("random.mp3", "wb").write(random.Random(20240601).randbytes(2048))
PY

# ---------------------------------------------------------------------------
# 3. Checks: real audio decodes, everything stays small.
# ---------------------------------------------------------------------------
for f in "$SAMPLE_DIR/sample.ogg" hello.ogg hello.mp3 hello.m4a hello.wav hello.webm hello.flac \
  hello-ogg-named.mp3 tiny.ogg; do
  ffprobe -v error -show_entries stream=codec_name,sample_rate,channels:format=duration \
    -of compact=p=0:nk=1 "$f" | tr '\n' ' ' | sed "s|^|$(basename "$f"): |"
  echo
done
oversized="$(find "$SAMPLE_DIR" "$FIXTURES" -maxdepth 1 -type f -size +40k)"
if [[ -n "$oversized" ]]; then
  echo "fixtures over 40 KB:" >&2
  echo "$oversized" >&2
  exit 1
fi
ls -l "$SAMPLE_DIR" "$FIXTURES" | grep -v "^d" | awk 'NF > 2 { print $5, $NF }'

make_corpus # section 4
