import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashUpload, UploadError } from './firmware-upload.js';

async function* chunks(buf: Buffer, sizes: () => number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; ) {
    const n = Math.max(1, sizes());
    yield buf.subarray(i, i + n);
    i += n;
  }
}

describe('hashUpload (multipart)', () => {
  const boundary = 'XyZ';
  const file = Buffer.from('line1\r\n--XyZnot\r\n\r\n--Xy end');
  const body = Buffer.from(
    `preamble\r\n--${boundary}\r\nContent-Disposition: form-data; name="a"\r\n\r\nfield\r\n--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n\r\n${file.toString('latin1')}\r\n--${boundary}--\r\nepilogue`,
    'latin1',
  );
  const expected = { filename: 'a.bin', bytes: file.length, sha256: createHash('sha256').update(file).digest('hex') };

  it('finds the file whatever the chunking', async () => {
    for (let size = 1; size <= body.length; size++) {
      expect(await hashUpload(chunks(body, () => size), `multipart/form-data; boundary=${boundary}`)).toEqual(expected);
    }
    let seed = 99;
    console.log(`firmware-upload seed=${seed}`);
    for (let round = 0; round < 200; round++) {
      const sizes = () => {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        return 1 + (seed % 9);
      };
      expect(await hashUpload(chunks(body, sizes), `multipart/form-data; boundary="${boundary}"`)).toEqual(expected);
    }
  });

  it('refuses truncated and file-less bodies', async () => {
    const cut = body.subarray(0, body.indexOf('end'));
    await expect(hashUpload(chunks(cut, () => 7), `multipart/form-data; boundary=${boundary}`)).rejects.toThrow(UploadError);
    const noFile = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--${boundary}--\r\n`);
    await expect(hashUpload(chunks(noFile, () => 5), `multipart/form-data; boundary=${boundary}`)).rejects.toThrow('no file in the upload');
    await expect(hashUpload(chunks(noFile, () => 5), 'multipart/form-data')).rejects.toThrow('without a boundary');
  });
});
