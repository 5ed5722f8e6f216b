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
# Usage: scripts/make-audio-fixtures.sh
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
oversized="$(find "$SAMPLE_DIR" "$FIXTURES" -type f -size +40k)"
if [[ -n "$oversized" ]]; then
  echo "fixtures over 40 KB:" >&2
  echo "$oversized" >&2
  exit 1
fi
ls -l "$SAMPLE_DIR" "$FIXTURES" | awk 'NF > 2 { print $5, $NF }'
