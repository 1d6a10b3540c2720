// Decoders for the image files of folder datasets: PNG (8-bit, not
// interlaced) through node:zlib, binary PGM/PPM (P5/P6), and JPEG through
// jpeg-js (baseline and progressive; decoded to RGB).
import { inflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { dataError, TsnasError } from '../errors.js';

/** A decoded image: height×width×channels bytes, interleaved. */
export interface DecodedImage {
  width: number;
  height: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
  channels: number;
  data: Uint8Array;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Channels per PNG colour type (3 is palette, expanded to RGB). */
const PNG_COLOR_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const PNG_COLOR_NAMES: Record<number, string> = { 0: 'gray', 2: 'RGB', 3: 'palette', 4: 'gray+alpha', 6: 'RGBA' };

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

export function decodePng(bytes: Uint8Array, file: string): DecodedImage {
  if (!isPng(bytes)) throw dataError('expected the PNG signature 89 50 4E 47 0D 0A 1A 0A, found other bytes', file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8;
  let header: { width: number; height: number; bitDepth: number; colorType: number; interlace: number } | undefined;
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let sawEnd = false;
  while (at + 8 <= bytes.length) {
    const length = view.getUint32(at, false);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const start = at + 8;
    if (start + length + 4 > bytes.length) {
      throw dataError(`truncated PNG: chunk ${type} needs ${length + 4} bytes at offset ${start}, found ${bytes.length - start}`, file);
    }
    const body = bytes.subarray(start, start + length);
    if (type === 'IHDR') {
      if (length < 13) throw dataError(`expected a 13-byte IHDR chunk, found ${length} bytes`, file);
      header = {
        width: view.getUint32(start, false),
        height: view.getUint32(start + 4, false),
        bitDepth: body[8]!,
        colorType: body[9]!,
        interlace: body[12]!,
      };
    } else if (type === 'PLTE') {
      palette = body;
    } else if (type === 'IDAT') {
      idat.push(body);
    } else if (type === 'IEND') {
      sawEnd = true;
      break;
    }
    at = start + length + 4;
  }
  if (!header) throw dataError('expected an IHDR chunk first in the PNG, found none', file);
  if (!sawEnd && idat.length === 0) throw dataError('truncated PNG: no image data (IDAT) found', file);
  const { width, height, bitDepth, colorType, interlace } = header;
  const colorName = PNG_COLOR_NAMES[colorType];
  if (colorName === undefined) throw dataError(`unknown PNG colour type ${colorType}`, file);
  if (bitDepth !== 8) {
    throw dataError(`unsupported PNG variant: expected bit depth 8, found ${bitDepth} (${colorName}); convert the images to 8-bit`, file);
  }
  if (interlace !== 0) {
    throw dataError('unsupported PNG variant: expected a non-interlaced PNG, found Adam7 interlacing; re-save it without interlacing', file);
  }
  if (colorType === 3 && !palette) throw dataError('expected a PLTE chunk for a palette PNG, found none', file);

  let inflated: Buffer;
  try {
    inflated = inflateSync(Buffer.concat(idat));
  } catch (e) {
    throw new TsnasError('data', `PNG image data is corrupt or truncated (${(e as Error).message})`, { where: file, cause: e });
  }
  const bpp = PNG_COLOR_CHANNELS[colorType]!;
  const stride = width * bpp;
  if (inflated.length < height * (stride + 1)) {
    throw dataError(`truncated PNG: expected ${height * (stride + 1)} bytes of filtered rows, found ${inflated.length}`, file);
  }
  const pixels = unfilter(inflated, width, height, bpp, file);
  if (colorType !== 3) return { width, height, channels: bpp, data: pixels };

  const rgb = new Uint8Array(width * height * 3);
  const entries = palette!.length / 3;
  for (let i = 0; i < width * height; i++) {
    const k = pixels[i]!;
    if (k >= entries) throw dataError(`pixel ${i} uses palette entry ${k}, expected 0..${entries - 1}`, file);
    rgb[3 * i] = palette![3 * k]!;
    rgb[3 * i + 1] = palette![3 * k + 1]!;
    rgb[3 * i + 2] = palette![3 * k + 2]!;
  }
  return { width, height, channels: 3, data: rgb };
}

/** Undoes the per-row PNG filters (None, Sub, Up, Average, Paeth). */
function unfilter(src: Uint8Array, width: number, height: number, bpp: number, file: string): Uint8Array {
  const stride = width * bpp;
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = src[y * (stride + 1)]!;
    const inRow = y * (stride + 1) + 1;
    const row = y * stride;
    const prev = row - stride;
    for (let x = 0; x < stride; x++) {
      const raw = src[inRow + x]!;
      const left = x >= bpp ? out[row + x - bpp]! : 0;
      const up = y > 0 ? out[prev + x]! : 0;
      const upLeft = y > 0 && x >= bpp ? out[prev + x - bpp]! : 0;
      let predicted: number;
      switch (filter) {
        case 0: predicted = 0; break;
        case 1: predicted = left; break;
        case 2: predicted = up; break;
        case 3: predicted = (left + up) >> 1; break;
        case 4: {
          const p = left + up - upLeft;
          const pa = Math.abs(p - left);
          const pb = Math.abs(p - up);
          const pc = Math.abs(p - upLeft);
          predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
          break;
        }
        default:
          throw dataError(`row ${y} has PNG filter type ${filter}, expected 0..4`, file);
      }
      out[row + x] = (raw + predicted) & 0xff;
    }
  }
  return out;
}

/** True for binary PGM (P5) and PPM (P6) headers. */
export function isPnm(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x50 && (bytes[1] === 0x35 || bytes[1] === 0x36);
}

/** Binary PGM (P5, gray) or PPM (P6, RGB) with maxval up to 255, rescaled to 0..255. */
export function decodePnm(bytes: Uint8Array, file: string): DecodedImage {
  const magic = String.fromCharCode(bytes[0] ?? 0, bytes[1] ?? 0);
  if (magic !== 'P5' && magic !== 'P6') {
    throw dataError(`expected a binary PGM/PPM header (P5 or P6), found ${JSON.stringify(magic)}`, file);
  }
  // Header: magic, width, height, maxval as ASCII tokens separated by
  // whitespace, with #-comments; then exactly one whitespace byte.
  let at = 2;
  const tokens: number[] = [];
  while (tokens.length < 3) {
    while (at < bytes.length) {
      const c = bytes[at]!;
      if (c === 0x23) {
        while (at < bytes.length && bytes[at] !== 0x0a && bytes[at] !== 0x0d) at++;
      } else if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
        at++;
      } else break;
    }
    const start = at;
    while (at < bytes.length && bytes[at]! >= 0x30 && bytes[at]! <= 0x39) at++;
    if (start === at) throw dataError(`truncated or malformed ${magic} header: expected a number at byte ${start}`, file);
    tokens.push(Number(String.fromCharCode(...bytes.subarray(start, at))));
  }
  at++; // the single whitespace byte before the pixels
  const [width, height, maxval] = tokens as [number, number, number];
  if (maxval < 1 || maxval > 255) {
    throw dataError(`unsupported ${magic} variant: expected maxval 1..255 (8-bit), found ${maxval}`, file);
  }
  const channels = magic === 'P5' ? 1 : 3;
  const size = width * height * channels;
  if (bytes.length - at < size) {
    throw dataError(`truncated ${magic} file: expected ${size} pixel bytes (${width}×${height}×${channels}), found ${Math.max(0, bytes.length - at)}`, file);
  }
  const data = new Uint8Array(bytes.subarray(at, at + size));
  if (maxval !== 255) for (let i = 0; i < size; i++) data[i] = Math.round((data[i]! * 255) / maxval);
  return { width, height, channels, data };
}

export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** Bounds on what one JPEG may decode to, so that a crafted header cannot exhaust memory. */
const JPEG_MAX_MEGAPIXELS = 100;
const JPEG_MAX_MEMORY_MB = 1024;

/** A JPEG as RGB (gray JPEGs too: the decoder expands them). */
export function decodeJpeg(bytes: Uint8Array, file: string): DecodedImage {
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: JPEG_MAX_MEGAPIXELS, maxMemoryUsageInMB: JPEG_MAX_MEMORY_MB });
  } catch (e) {
    throw dataError(`corrupt or unsupported JPEG: ${(e as Error).message ?? String(e)}`, file);
  }
  const { width, height, data } = decoded;
  if (!(width > 0 && height > 0) || data.length !== width * height * 3) throw dataError(`corrupt JPEG: ${width}x${height} with ${data.length} pixel bytes`, file);
  return { width, height, channels: 3, data };
}

/** Decodes a PNG, JPEG or binary PGM/PPM by its leading bytes. */
export function decodeImage(bytes: Uint8Array, file: string): DecodedImage {
  if (isPng(bytes)) return decodePng(bytes, file);
  if (isJpeg(bytes)) return decodeJpeg(bytes, file);
  if (bytes.length >= 2 && bytes[0] === 0x50 && bytes[1]! >= 0x31 && bytes[1]! <= 0x37) return decodePnm(bytes, file);
  throw dataError('expected a PNG, JPEG or binary PGM/PPM image, found none of their signatures', file);
}
