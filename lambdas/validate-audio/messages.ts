/**
 * The refusals' wording, for the bot's users: a value and its limit in the same unit, with enough
 * digits that they differ ("10.0003 h; the limit is 10.0000 h", never "10 h; the limit is 10 h").
 */

interface Unit {
  name: string;
  size: number;
}

const TIME_UNITS: Unit[] = [
  { name: 'h', size: 3600 },
  { name: 'min', size: 60 },
  { name: 's', size: 1 },
];
const SIZE_UNITS: Unit[] = [
  { name: 'GB', size: 1e9 },
  { name: 'MB', size: 1e6 },
  { name: 'KB', size: 1e3 },
  { name: 'bytes', size: 1 },
];

/** `value` and `limit` in the largest unit the limit fills, at the fewest digits that tell them apart. */
export function formatPair(value: number, limit: number, units: Unit[]): [string, string] {
  const unit = units.find((u) => limit >= u.size) ?? (units[units.length - 1] as Unit);
  const show = (n: number, digits: number) => `${(n / unit.size).toFixed(digits)} ${unit.name}`;
  const integral = (n: number) => Number.isInteger(n / unit.size);
  let digits = integral(value) && integral(limit) ? 0 : 1;
  while (digits < 9 && value !== limit && show(value, digits) === show(limit, digits)) digits += 1;
  return [show(value, digits), show(limit, digits)];
}

export const durationPair = (value: number, limit: number) => formatPair(value, limit, TIME_UNITS);
export const sizePair = (value: number, limit: number) => formatPair(value, limit, SIZE_UNITS);

export const tooLarge = (size: number, limit: number) => {
  const [value, max] = sizePair(size, limit);
  return `The file is ${value}; the limit is ${max}`;
};
export const tooLong = (seconds: number, limit: number) => {
  const [value, max] = durationPair(seconds, limit);
  return `The audio is ${value} long; the limit is ${max}`;
};
export const tooShort = (seconds: number, limit: number) => {
  const [value, min] = durationPair(seconds, limit);
  return `The audio is ${value} long; the minimum is ${min}`;
};

export const NO_AUDIO_TRACK = 'This video has no audio track, so there is nothing to transcribe';
export const noAudioStream = (format: string) =>
  `This ${format} file has no audio stream, so there is nothing to transcribe`;
export const notMedia = (what: string) => `This file is ${what}, not audio or video`;
export const UNRECOGNIZED = 'This file is not a recognizable audio or video format';
export const damaged = (format: string) => `This ${format} file is damaged: its audio could not be read`;
export const NO_SOUND = 'The audio file contains no sound';
export const EMPTY = 'The audio file is empty';

/** A format's name for messages, from its file-type extension. */
export function formatName(ext: string): string {
  const names: Record<string, string> = {
    mp4: 'MP4',
    m4a: 'M4A',
    m4v: 'M4V',
    mov: 'QuickTime',
    '3gp': '3GP',
    '3g2': '3GP',
    webm: 'WebM',
    mkv: 'Matroska',
    mka: 'Matroska',
    ogg: 'Ogg',
    oga: 'Ogg',
    ogv: 'Ogg',
    opus: 'Ogg',
    ogx: 'Ogg',
    spx: 'Ogg',
    asf: 'ASF',
    mts: 'MPEG-TS',
    mpg: 'MPEG-PS',
    avi: 'AVI',
    flv: 'FLV',
    wav: 'WAV',
    aif: 'AIFF',
  };
  return names[ext] ?? ext.toUpperCase();
}
