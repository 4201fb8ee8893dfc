/**
 * 4×4 voxel-to-world matrices in NIfTI's RAS+ world (x → Right, y → Anterior, z → Superior), as 4 rows of 4.
 * `world = affine · [i, j, k, 1]` with (i, j, k) voxel indices along the three stored axes.
 */
export type Matrix4 = number[][];
export type Matrix3 = number[][];
export type Vector3 = [number, number, number];

export function identity4(): Matrix4 {
  return [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
}

export function cloneMatrix(m: Matrix4): Matrix4 {
  return m.map((row) => row.slice());
}

export function multiply4(a: Matrix4, b: Matrix4): Matrix4 {
  const out = identity4();
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[r][k] * b[k][c];
      out[r][c] = s;
    }
  }
  return out;
}

/** Apply an affine to a point. */
export function applyAffine(m: Matrix4, p: readonly number[]): Vector3 {
  return [
    m[0][0] * p[0] + m[0][1] * p[1] + m[0][2] * p[2] + m[0][3],
    m[1][0] * p[0] + m[1][1] * p[1] + m[1][2] * p[2] + m[1][3],
    m[2][0] * p[0] + m[2][1] * p[1] + m[2][2] * p[2] + m[2][3],
  ];
}

export function determinant3(m: Matrix3): number {
  return (
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
  );
}

export function invert3(m: Matrix3): Matrix3 {
  const det = determinant3(m);
  if (det === 0 || !Number.isFinite(det)) throw new Error('affine: singular 3×3 matrix');
  const inv = 1 / det;
  return [
    [
      (m[1][1] * m[2][2] - m[1][2] * m[2][1]) * inv,
      (m[0][2] * m[2][1] - m[0][1] * m[2][2]) * inv,
      (m[0][1] * m[1][2] - m[0][2] * m[1][1]) * inv,
    ],
    [
      (m[1][2] * m[2][0] - m[1][0] * m[2][2]) * inv,
      (m[0][0] * m[2][2] - m[0][2] * m[2][0]) * inv,
      (m[0][2] * m[1][0] - m[0][0] * m[1][2]) * inv,
    ],
    [
      (m[1][0] * m[2][1] - m[1][1] * m[2][0]) * inv,
      (m[0][1] * m[2][0] - m[0][0] * m[2][1]) * inv,
      (m[0][0] * m[1][1] - m[0][1] * m[1][0]) * inv,
    ],
  ];
}

/** Inverse of an affine (last row 0 0 0 1). */
export function invert4(m: Matrix4): Matrix4 {
  const r = invert3(linearPart(m));
  const t = [m[0][3], m[1][3], m[2][3]];
  const out = identity4();
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) out[i][j] = r[i][j];
    out[i][3] = -(r[i][0] * t[0] + r[i][1] * t[1] + r[i][2] * t[2]);
  }
  return out;
}

export function linearPart(m: Matrix4): Matrix3 {
  return [m[0].slice(0, 3), m[1].slice(0, 3), m[2].slice(0, 3)];
}

/** Voxel spacing: the length of each of the three columns of the affine (what MONAI calls pixdim). */
export function affineSpacing(m: Matrix4): Vector3 {
  return [0, 1, 2].map((c) => Math.hypot(m[0][c], m[1][c], m[2][c])) as Vector3;
}

function transpose3(m: Matrix3): Matrix3 {
  return [0, 1, 2].map((r) => [0, 1, 2].map((c) => m[c][r]));
}

/** Nearest orthogonal matrix (polar decomposition, Newton iteration as in nifti1_io's nifti_mat33_polar). */
export function polarOrthogonal(m: Matrix3): Matrix3 {
  let x = m.map((row) => row.slice());
  for (let iteration = 0; iteration < 100; iteration++) {
    const inverseTranspose = transpose3(invert3(x));
    const next = x.map((row, r) => row.map((v, c) => 0.5 * (v + inverseTranspose[r][c])));
    let change = 0;
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) change += Math.abs(next[r][c] - x[r][c]);
    x = next;
    if (change < 1e-12) break;
  }
  return x;
}

/** NIfTI quaternion parameters of an affine's rotation (nifti_mat44_to_quatern). */
export interface Quaternion {
  b: number;
  c: number;
  d: number;
  /** +1 or −1: the sign stored in pixdim[0] (−1 when the voxel axes are left-handed). */
  qfac: number;
  offset: Vector3;
  spacing: Vector3;
}

/** Rotation + spacing + offset → affine, exactly as nifti1_io's nifti_quatern_to_mat44. */
export function quaternionToAffine(q: Quaternion): Matrix4 {
  let { b, c, d } = q;
  let a = 1 - (b * b + c * c + d * d);
  if (a < 1e-7) {
    a = 1 / Math.sqrt(b * b + c * c + d * d);
    b *= a;
    c *= a;
    d *= a;
    a = 0;
  } else {
    a = Math.sqrt(a);
  }
  const xd = q.spacing[0] > 0 ? q.spacing[0] : 1;
  const yd = q.spacing[1] > 0 ? q.spacing[1] : 1;
  let zd = q.spacing[2] > 0 ? q.spacing[2] : 1;
  if (q.qfac < 0) zd = -zd;
  return [
    [(a * a + b * b - c * c - d * d) * xd, 2 * (b * c - a * d) * yd, 2 * (b * d + a * c) * zd, q.offset[0]],
    [2 * (b * c + a * d) * xd, (a * a + c * c - b * b - d * d) * yd, 2 * (c * d - a * b) * zd, q.offset[1]],
    [2 * (b * d - a * c) * xd, 2 * (c * d + a * b) * yd, (a * a + d * d - c * c - b * b) * zd, q.offset[2]],
    [0, 0, 0, 1],
  ];
}

/** Affine → NIfTI quaternion (nifti_mat44_to_quatern; shear is dropped by the polar decomposition). */
export function affineToQuaternion(m: Matrix4): Quaternion {
  const spacing = affineSpacing(m);
  const columns = [0, 1, 2].map((c) => {
    const norm = spacing[c];
    if (norm === 0) return [0, 1, 2].map((r) => (r === c ? 1 : 0));
    return [m[0][c] / norm, m[1][c] / norm, m[2][c] / norm];
  });
  const normalized: Matrix3 = [0, 1, 2].map((r) => [columns[0][r], columns[1][r], columns[2][r]]);
  const p = polarOrthogonal(normalized);
  let qfac = 1;
  if (determinant3(p) < 0) {
    qfac = -1;
    for (let r = 0; r < 3; r++) p[r][2] = -p[r][2];
  }
  const [[r11, r12, r13], [r21, r22, r23], [r31, r32, r33]] = p;
  let a = r11 + r22 + r33 + 1;
  let b: number;
  let c: number;
  let d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r32 - r23)) / a;
    c = (0.25 * (r13 - r31)) / a;
    d = (0.25 * (r21 - r12)) / a;
  } else {
    const xd = 1 + r11 - (r22 + r33);
    const yd = 1 + r22 - (r11 + r33);
    const zd = 1 + r33 - (r11 + r22);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (r12 + r21)) / b;
      d = (0.25 * (r13 + r31)) / b;
      a = (0.25 * (r32 - r23)) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (r12 + r21)) / c;
      d = (0.25 * (r23 + r32)) / c;
      a = (0.25 * (r13 - r31)) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (r13 + r31)) / d;
      c = (0.25 * (r23 + r32)) / d;
      a = (0.25 * (r21 - r12)) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return { b, c, d, qfac, offset: [m[0][3], m[1][3], m[2][3]], spacing };
}

const AXIS_LABELS: [string, string][] = [
  ['L', 'R'],
  ['P', 'A'],
  ['I', 'S'],
];

/**
 * For each voxel axis: the world axis it runs along (0 = x, 1 = y, 2 = z) and the direction (+1 / −1).
 * Oblique affines are snapped to the closest axis-aligned orientation (like nibabel's io_orientation).
 */
export function axisOrientation(m: Matrix4): { worldAxis: number; sign: number }[] {
  const spacing = affineSpacing(m);
  const normalized: Matrix3 = [0, 1, 2].map((r) => [0, 1, 2].map((c) => m[r][c] / (spacing[c] || 1)));
  const p = polarOrthogonal(normalized);
  const result: { worldAxis: number; sign: number }[] = [
    { worldAxis: -1, sign: 1 },
    { worldAxis: -1, sign: 1 },
    { worldAxis: -1, sign: 1 },
  ];
  const usedRow = [false, false, false];
  const usedColumn = [false, false, false];
  for (let step = 0; step < 3; step++) {
    let best = -1;
    let bestRow = 0;
    let bestColumn = 0;
    for (let r = 0; r < 3; r++) {
      if (usedRow[r]) continue;
      for (let c = 0; c < 3; c++) {
        if (usedColumn[c]) continue;
        if (Math.abs(p[r][c]) > best) {
          best = Math.abs(p[r][c]);
          bestRow = r;
          bestColumn = c;
        }
      }
    }
    usedRow[bestRow] = true;
    usedColumn[bestColumn] = true;
    result[bestColumn] = { worldAxis: bestRow, sign: p[bestRow][bestColumn] < 0 ? -1 : 1 };
  }
  return result;
}

/** Orientation code of an affine ("RAS", "LPS", "LAS", …): the direction each voxel axis increases towards. */
export function orientationCode(m: Matrix4): string {
  return axisOrientation(m)
    .map(({ worldAxis, sign }) => AXIS_LABELS[worldAxis][sign > 0 ? 1 : 0])
    .join('');
}

/** Parse an orientation code into (world axis, sign) per output axis; throws on codes like "RRS" or "XYZ". */
export function parseOrientationCode(code: string): { worldAxis: number; sign: number }[] | undefined {
  const upper = code.toUpperCase();
  if (upper.length !== 3) return undefined;
  const result: { worldAxis: number; sign: number }[] = [];
  for (const letter of upper) {
    const worldAxis = AXIS_LABELS.findIndex((pair) => pair.includes(letter));
    if (worldAxis < 0) return undefined;
    result.push({ worldAxis, sign: AXIS_LABELS[worldAxis][1] === letter ? 1 : -1 });
  }
  if (new Set(result.map((r) => r.worldAxis)).size !== 3) return undefined;
  return result;
}

/** True when two affines agree within `tolerance` (absolute, in mm for the translation). */
export function affinesClose(a: Matrix4, b: Matrix4, tolerance = 1e-4): boolean {
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      const scale = Math.max(1, Math.abs(a[r][c]), Math.abs(b[r][c]));
      if (Math.abs(a[r][c] - b[r][c]) > tolerance * scale) return false;
    }
  }
  return true;
}
