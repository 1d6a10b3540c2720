// Image-folder datasets: root/<class>/<image>, class index = position of
// the folder name in sorted order. A root holding train/ and test/ (or
// val/) folders gives both splits; a root of class folders is a train split.
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { dataError, TsnasError } from '../errors.js';
import { resizePlanes } from './augment.js';
import { labelArray, validateDataset, type Dataset, type Split } from './dataset.js';
import { decodeImage, type DecodedImage } from './image.js';
import { requireDirectory } from './files.js';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.pgm', '.ppm', '.pnm'];
const SPLIT_DIRS = ['train', 'test', 'val', 'valid', 'validation'];

export interface FolderOptions {
  dir: string;
  split?: Split;
  /** Area-resize every image to size×size; without it all images must share one size. */
  size?: number;
  /** Skip the image files that cannot be decoded instead of failing on the first (scanImageFolder lists them). */
  skipBad?: boolean;
}

function subdirectories(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

/** Where each split's class folders are: the root itself, or root/train and root/test|val. */
export function folderSplitDirs(dir: string): { train: string; test?: string } {
  requireDirectory(dir, 'image folder');
  const subs = subdirectories(dir);
  const isSplitLayout = subs.includes('train') && subs.every((s) => SPLIT_DIRS.includes(s));
  if (!isSplitLayout) return { train: dir };
  const test = ['test', 'val', 'valid', 'validation'].find((s) => subs.includes(s));
  return test ? { train: join(dir, 'train'), test: join(dir, test) } : { train: join(dir, 'train') };
}

/** Sorted class folder names of a split directory. */
export function folderClasses(splitDir: string): string[] {
  const classes = subdirectories(splitDir);
  if (classes.length === 0) throw dataError('expected one sub-folder per class (root/<class>/<image>), found none', splitDir);
  return classes;
}

interface SplitFiles {
  classes: string[];
  files: string[];
  labels: number[];
}

/** The image files of a split, with their class indices (from the train split, so both splits agree). */
function splitFiles(options: FolderOptions, extensions: readonly string[]): SplitFiles {
  const split = options.split ?? 'train';
  const dirs = folderSplitDirs(options.dir);
  const splitDir = split === 'train' ? dirs.train : dirs.test;
  if (!splitDir) {
    throw dataError(
      `has no ${split} split: expected ${join(options.dir, 'train')} and ${join(options.dir, 'test')} (or val) folders of class folders`,
      options.dir,
    );
  }
  // Class indices come from the train split so both splits agree.
  const classes = folderClasses(dirs.train);
  const present = folderClasses(splitDir);
  const unknown = present.filter((c) => !classes.includes(c));
  if (unknown.length > 0) {
    throw dataError(`class folders ${unknown.join(', ')} are not in the train split (${classes.join(', ')})`, splitDir);
  }

  const files: string[] = [];
  const labels: number[] = [];
  for (const name of present) {
    const classDir = join(splitDir, name);
    const images = readdirSync(classDir)
      .filter((f) => !f.startsWith('.') && extensions.includes(extname(f).toLowerCase()))
      .sort();
    for (const f of images) {
      files.push(join(classDir, f));
      labels.push(classes.indexOf(name));
    }
  }
  if (files.length === 0) {
    throw dataError(`expected image files (${extensions.join(', ')}) in the class folders, found none`, splitDir);
  }
  return { classes, files, labels };
}

/** Decodes a file, or gives the reason it cannot be. */
function tryDecode(file: string): DecodedImage | { error: string } {
  try {
    return decodeImage(readFileSync(file), file);
  } catch (e) {
    if (e instanceof TsnasError || (e as NodeJS.ErrnoException).code !== undefined) return { error: (e as Error).message };
    throw e;
  }
}

export interface FolderScan {
  classes: string[];
  /** Images per class, by class index. */
  counts: number[];
  /** Decodable images: their size and channels (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA). */
  images: { file: string; width: number; height: number; channels: number }[];
  /** Files that cannot be read or decoded, with the reason. */
  bad: { file: string; reason: string }[];
}

/** Decodes every image of a split without keeping the pixels: what a dataset check needs. */
export function scanImageFolder(options: FolderOptions): FolderScan {
  const { classes, files, labels } = splitFiles(options, IMAGE_EXTENSIONS);
  const scan: FolderScan = { classes, counts: classes.map(() => 0), images: [], bad: [] };
  files.forEach((file, i) => {
    const d = tryDecode(file);
    if ('error' in d) {
      scan.bad.push({ file, reason: d.error });
    } else {
      scan.images.push({ file, width: d.width, height: d.height, channels: d.channels });
      scan.counts[labels[i]!]!++;
    }
  });
  return scan;
}

/** Reads a folder dataset split; files lists every image read. */
export function loadImageFolder(options: FolderOptions): Dataset {
  const split = options.split ?? 'train';
  const listed = splitFiles(options, IMAGE_EXTENSIONS);
  const { classes } = listed;
  const files: string[] = [];
  const labelsOf: number[] = [];
  const decoded: DecodedImage[] = [];
  listed.files.forEach((file, i) => {
    const d = options.skipBad ? tryDecode(file) : decodeImage(readFileSync(file), file);
    if ('error' in d) return;
    files.push(file);
    labelsOf.push(listed.labels[i]!);
    decoded.push(d);
  });
  if (files.length === 0) throw dataError('every image file in the class folders is unreadable', options.dir);
  // Colour if any image is; gray images are then repeated over R, G, B.
  const channels = decoded.some((d) => d.channels >= 3) ? 3 : 1;
  const height = options.size ?? decoded[0]!.height;
  const width = options.size ?? decoded[0]!.width;
  const size = channels * height * width;
  const images = new Uint8Array(files.length * size);
  decoded.forEach((img, i) => {
    if (options.size === undefined && (img.height !== height || img.width !== width)) {
      throw dataError(
        `expected ${width}×${height} pixels like ${files[0]}, found ${img.width}×${img.height} (give a size to resize all images)`,
        files[i],
      );
    }
    images.set(toPlanes(img, channels, height, width), i * size);
  });
  const labels = labelArray(files.length, classes.length);
  labels.set(labelsOf);
  return validateDataset({
    name: `folder:${options.dir}/${split}`,
    images,
    labels,
    n: files.length,
    channels,
    height,
    width,
    numClasses: classes.length,
    classNames: classes,
    files,
  });
}

/** Interleaved H×W×C (alpha dropped) to C×H×W planes of the wanted channels and size (what a model trained on a folder reads). */
export function toPlanes(img: DecodedImage, channels: number, height: number, width: number): Uint8Array {
  const colour = img.channels >= 3;
  const plane = img.height * img.width;
  const planes = new Float32Array(channels * plane);
  for (let c = 0; c < channels; c++) {
    const from = colour ? c : 0;
    for (let p = 0; p < plane; p++) planes[c * plane + p] = img.data[p * img.channels + from]!;
  }
  const out = new Uint8Array(channels * height * width);
  if (img.height === height && img.width === width) {
    out.set(planes);
  } else {
    const resized = new Float32Array(out.length);
    resizePlanes(planes, resized, channels, img.height, img.width, height, width);
    for (let i = 0; i < out.length; i++) out[i] = Math.round(resized[i]!);
  }
  return out;
}
