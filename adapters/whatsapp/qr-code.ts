/**
 * A QR Code encoder (ISO/IEC 18004, model 2), just enough for the linking QR WhatsApp rotates
 * during `bot whatsapp login`: byte mode, the smallest version (1–40) that fits at the requested
 * error-correction level, the mask with the lowest penalty. Drawn in a terminal with half-block
 * characters (two modules per character row), dark on light with a quiet zone.
 */

export type Ecc = 'L' | 'M';

// Per version 1–40 (index 0 unused), from the standard's tables.
const ECC_CODEWORDS_PER_BLOCK: Record<Ecc, readonly number[]> = {
  L: [-1, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
  M: [-1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
};
const NUM_BLOCKS: Record<Ecc, readonly number[]> = {
  L: [-1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
  M: [-1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
};
const FORMAT_BITS: Record<Ecc, number> = { L: 1, M: 0 };

function rawDataModules(ver: number): number {
  let result = (16 * ver + 128) * ver + 64;
  if (ver >= 2) {
    const numAlign = Math.floor(ver / 7) + 2;
    result -= (25 * numAlign - 10) * numAlign - 55;
    if (ver >= 7) result -= 36;
  }
  return result;
}

const dataCodewords = (ver: number, ecc: Ecc) => Math.floor(rawDataModules(ver) / 8) - ECC_CODEWORDS_PER_BLOCK[ecc][ver]! * NUM_BLOCKS[ecc][ver]!;

// GF(256) with the QR polynomial 0x11D.
function gfMul(x: number, y: number): number {
  let z = 0;
  for (let i = 7; i >= 0; i--) {
    z = (z << 1) ^ ((z >>> 7) * 0x11d);
    z ^= ((y >>> i) & 1) * x;
  }
  return z & 0xff;
}

function rsDivisor(degree: number): number[] {
  const result = new Array<number>(degree).fill(0);
  result[degree - 1] = 1;
  let root = 1;
  for (let i = 0; i < degree; i++) {
    for (let j = 0; j < result.length; j++) {
      result[j] = gfMul(result[j]!, root);
      if (j + 1 < result.length) result[j]! ^= result[j + 1]!;
    }
    root = gfMul(root, 0x02);
  }
  return result;
}

function rsRemainder(data: readonly number[], divisor: readonly number[]): number[] {
  const result = new Array<number>(divisor.length).fill(0);
  for (const b of data) {
    const factor = b ^ result.shift()!;
    result.push(0);
    divisor.forEach((coef, i) => (result[i]! ^= gfMul(coef, factor)));
  }
  return result;
}

/** Data bytes → all codewords (data and error correction, blocks interleaved). */
function codewords(bytes: Uint8Array, ver: number, ecc: Ecc): number[] {
  const bits: number[] = [];
  const put = (val: number, len: number) => {
    for (let i = len - 1; i >= 0; i--) bits.push((val >>> i) & 1);
  };
  put(0b0100, 4);
  put(bytes.length, ver <= 9 ? 8 : 16);
  for (const b of bytes) put(b, 8);
  const capacity = dataCodewords(ver, ecc) * 8;
  put(0, Math.min(4, capacity - bits.length));
  put(0, (8 - (bits.length % 8)) % 8);
  for (let pad = 0xec; bits.length < capacity; pad ^= 0xec ^ 0x11) put(pad, 8);
  const data: number[] = [];
  for (let i = 0; i < bits.length; i += 8) data.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b, 0));

  const numBlocks = NUM_BLOCKS[ecc][ver]!;
  const eccLen = ECC_CODEWORDS_PER_BLOCK[ecc][ver]!;
  const rawCodewords = Math.floor(rawDataModules(ver) / 8);
  const numShort = numBlocks - (rawCodewords % numBlocks);
  const shortLen = Math.floor(rawCodewords / numBlocks);
  const divisor = rsDivisor(eccLen);
  const blocks: number[][] = [];
  for (let i = 0, k = 0; i < numBlocks; i++) {
    const dat = data.slice(k, k + shortLen - eccLen + (i < numShort ? 0 : 1));
    k += dat.length;
    const ecw = rsRemainder(dat, divisor);
    if (i < numShort) dat.push(0);
    blocks.push([...dat, ...ecw]);
  }
  const result: number[] = [];
  for (let i = 0; i < blocks[0]!.length; i++) {
    blocks.forEach((block, j) => {
      if (i !== shortLen - eccLen || j >= numShort) result.push(block[i]!);
    });
  }
  return result;
}

class Matrix {
  readonly size: number;
  readonly dark: boolean[][];
  readonly fixed: boolean[][];

  constructor(readonly ver: number) {
    this.size = ver * 4 + 17;
    this.dark = Array.from({ length: this.size }, () => new Array<boolean>(this.size).fill(false));
    this.fixed = Array.from({ length: this.size }, () => new Array<boolean>(this.size).fill(false));
  }

  set(x: number, y: number, dark: boolean): void {
    this.dark[y]![x] = dark;
    this.fixed[y]![x] = true;
  }

  alignmentPositions(): number[] {
    if (this.ver === 1) return [];
    const num = Math.floor(this.ver / 7) + 2;
    const step = this.ver === 32 ? 26 : Math.ceil((this.ver * 4 + 4) / (num * 2 - 2)) * 2;
    const result = [6];
    for (let pos = this.size - 7; result.length < num; pos -= step) result.splice(1, 0, pos);
    return result;
  }

  drawFunctionPatterns(ecc: Ecc): void {
    for (let i = 0; i < this.size; i++) {
      this.set(6, i, i % 2 === 0);
      this.set(i, 6, i % 2 === 0);
    }
    const finder = (cx: number, cy: number) => {
      for (let dy = -4; dy <= 4; dy++)
        for (let dx = -4; dx <= 4; dx++) {
          const d = Math.max(Math.abs(dx), Math.abs(dy));
          const x = cx + dx;
          const y = cy + dy;
          if (x >= 0 && x < this.size && y >= 0 && y < this.size) this.set(x, y, d !== 2 && d !== 4);
        }
    };
    finder(3, 3);
    finder(this.size - 4, 3);
    finder(3, this.size - 4);
    const align = this.alignmentPositions();
    const n = align.length;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        if ((i === 0 && j === 0) || (i === 0 && j === n - 1) || (i === n - 1 && j === 0)) continue;
        for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) this.set(align[i]! + dx, align[j]! + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
      }
    this.drawFormat(ecc, 0);
    this.drawVersion();
  }

  drawFormat(ecc: Ecc, mask: number): void {
    const data = (FORMAT_BITS[ecc] << 3) | mask;
    let rem = data;
    for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
    const bits = ((data << 10) | rem) ^ 0x5412;
    const bit = (i: number) => ((bits >>> i) & 1) !== 0;
    for (let i = 0; i <= 5; i++) this.set(8, i, bit(i));
    this.set(8, 7, bit(6));
    this.set(8, 8, bit(7));
    this.set(7, 8, bit(8));
    for (let i = 9; i < 15; i++) this.set(14 - i, 8, bit(i));
    for (let i = 0; i < 8; i++) this.set(this.size - 1 - i, 8, bit(i));
    for (let i = 8; i < 15; i++) this.set(8, this.size - 15 + i, bit(i));
    this.set(8, this.size - 8, true);
  }

  drawVersion(): void {
    if (this.ver < 7) return;
    let rem = this.ver;
    for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
    const bits = (this.ver << 12) | rem;
    for (let i = 0; i < 18; i++) {
      const b = ((bits >>> i) & 1) !== 0;
      const a = this.size - 11 + (i % 3);
      const c = Math.floor(i / 3);
      this.set(a, c, b);
      this.set(c, a, b);
    }
  }

  drawCodewords(data: readonly number[]): void {
    let i = 0;
    for (let right = this.size - 1; right >= 1; right -= 2) {
      if (right === 6) right = 5;
      for (let vert = 0; vert < this.size; vert++)
        for (let j = 0; j < 2; j++) {
          const x = right - j;
          const upward = ((right + 1) & 2) === 0;
          const y = upward ? this.size - 1 - vert : vert;
          if (!this.fixed[y]![x] && i < data.length * 8) {
            this.dark[y]![x] = ((data[i >>> 3]! >>> (7 - (i & 7))) & 1) !== 0;
            i++;
          }
        }
    }
  }

  applyMask(mask: number): void {
    for (let y = 0; y < this.size; y++)
      for (let x = 0; x < this.size; x++) {
        if (this.fixed[y]![x]) continue;
        const invert = [(x + y) % 2 === 0, y % 2 === 0, x % 3 === 0, (x + y) % 3 === 0, (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0, ((x * y) % 2) + ((x * y) % 3) === 0, (((x * y) % 2) + ((x * y) % 3)) % 2 === 0, (((x + y) % 2) + ((x * y) % 3)) % 2 === 0][mask]!;
        if (invert) this.dark[y]![x] = !this.dark[y]![x];
      }
  }

  penalty(): number {
    const n = this.size;
    let result = 0;
    const lineRuns = (get: (i: number) => boolean) => {
      let score = 0;
      let runColor = false;
      let runLen = 0;
      const history = [0, 0, 0, 0, 0, 0, 0];
      const addHistory = (len: number) => {
        if (history[0] === 0) len += n;
        history.pop();
        history.unshift(len);
      };
      const countPatterns = () => {
        const h = history;
        const m = h[1]!;
        const core = m > 0 && h[2] === m && h[3] === m * 3 && h[4] === m && h[5] === m;
        return (core && h[0]! >= m * 4 && h[6]! >= m ? 1 : 0) + (core && h[6]! >= m * 4 && h[0]! >= m ? 1 : 0);
      };
      for (let i = 0; i < n; i++) {
        if (get(i) === runColor) {
          runLen++;
          if (runLen === 5) score += 3;
          else if (runLen > 5) score++;
        } else {
          addHistory(runLen);
          if (!runColor) score += countPatterns() * 40;
          runColor = get(i);
          runLen = 1;
        }
      }
      // Terminate the line as if followed by light modules.
      if (runColor) {
        addHistory(runLen);
        runLen = 0;
      }
      runLen += n;
      addHistory(runLen);
      score += countPatterns() * 40;
      return score;
    };
    for (let y = 0; y < n; y++) result += lineRuns((x) => this.dark[y]![x]!);
    for (let x = 0; x < n; x++) result += lineRuns((y) => this.dark[y]![x]!);
    for (let y = 0; y < n - 1; y++)
      for (let x = 0; x < n - 1; x++) {
        const c = this.dark[y]![x];
        if (c === this.dark[y]![x + 1] && c === this.dark[y + 1]![x] && c === this.dark[y + 1]![x + 1]) result += 3;
      }
    const dark = this.dark.reduce((sum, row) => sum + row.filter(Boolean).length, 0);
    const total = n * n;
    result += (Math.ceil(Math.abs(dark * 20 - total * 10) / total) - 1) * 10;
    return result;
  }
}

/** The QR code of `text` as rows of modules (true: dark). `onlyMask` (0–7) fixes the mask instead of choosing the best (tests compare with other encoders). */
export function encodeQr(text: string, ecc: Ecc = 'L', onlyMask?: number): boolean[][] {
  const bytes = new TextEncoder().encode(text);
  let ver = 1;
  for (; ver <= 40; ver++) if (4 + (ver <= 9 ? 8 : 16) + bytes.length * 8 <= dataCodewords(ver, ecc) * 8) break;
  if (ver > 40) throw new Error(`text too long for a QR code (${bytes.length} bytes)`);
  const words = codewords(bytes, ver, ecc);
  let best: Matrix | undefined;
  let bestPenalty = Infinity;
  for (let mask = 0; mask < 8; mask++) {
    if (onlyMask !== undefined && mask !== onlyMask) continue;
    const m = new Matrix(ver);
    m.drawFunctionPatterns(ecc);
    m.drawCodewords(words);
    m.applyMask(mask);
    m.drawFormat(ecc, mask);
    const p = m.penalty();
    if (p < bestPenalty) {
      best = m;
      bestPenalty = p;
    }
  }
  return best!.dark;
}

/**
 * The code for a terminal: each character is two module rows. With `ansi` (a TTY), colours are
 * set explicitly (black on white, with a quiet zone of `margin` modules), so it scans whatever
 * the terminal's theme; without, light modules are drawn as blocks (a dark terminal shows them light).
 */
export function renderQrForTerminal(modules: boolean[][], options: { margin?: number; ansi?: boolean } = {}): string {
  const margin = options.margin ?? 2;
  const n = modules.length;
  const dark = (x: number, y: number) => x >= 0 && y >= 0 && x < n && y < n && modules[y]![x]!;
  const lines: string[] = [];
  for (let y = -margin; y < n + margin; y += 2) {
    let line = '';
    for (let x = -margin; x < n + margin; x++) {
      const top = !dark(x, y);
      const bottom = y + 1 < n + margin && !dark(x, y + 1);
      if (options.ansi) line += `\x1b[${top ? 97 : 30}m\x1b[${bottom ? 107 : 40}m▀`;
      else line += top && bottom ? '█' : top ? '▀' : bottom ? '▄' : ' ';
    }
    lines.push(options.ansi ? `${line}\x1b[0m` : line);
  }
  return lines.join('\n');
}
