import { ConfigService } from '@nestjs/config';
import { TokenCipher, TokenDecryptionError } from './token-cipher';

const KEY_A = 'key-a-0123456789abcdefghijklmnopqrstuv';
const KEY_B = 'key-b-0123456789abcdefghijklmnopqrstuv';

const cipherWith = (current: string, old: string[] = []) =>
  new TokenCipher(new ConfigService({ tokenEncryptionKey: current, tokenDecryptionKeys: old }));

describe('TokenCipher', () => {
  it('round-trips and never stores the plaintext', () => {
    const cipher = cipherWith(KEY_A);
    const sealed = cipher.encrypt('gho_secretToken123', 'link:42');
    expect(sealed).not.toContain('gho_secretToken123');
    expect(sealed.split('.')).toHaveLength(5);
    expect(cipher.decrypt(sealed, 'link:42')).toBe('gho_secretToken123');
  });

  it('uses a fresh IV each time', () => {
    const cipher = cipherWith(KEY_A);
    expect(cipher.encrypt('same')).not.toBe(cipher.encrypt('same'));
  });

  it('refuses a tampered ciphertext, another context, and garbage', () => {
    const cipher = cipherWith(KEY_A);
    const sealed = cipher.encrypt('token', 'row:1');
    const parts = sealed.split('.');
    const data = Buffer.from(parts[3], 'base64url');
    data[0] ^= 1;
    parts[3] = data.toString('base64url');
    expect(() => cipher.decrypt(parts.join('.'), 'row:1')).toThrow(TokenDecryptionError);
    expect(() => cipher.decrypt(sealed, 'row:2')).toThrow(TokenDecryptionError);
    expect(() => cipher.decrypt('plaintext-token')).toThrow(TokenDecryptionError);
    expect(() => cipher.decrypt('v1.abc.x.y.z')).toThrow(TokenDecryptionError);
  });

  it('rotates: old ciphertexts decrypt with the old key listed, and are flagged', () => {
    const old = cipherWith(KEY_A);
    const sealed = old.encrypt('token');
    const rotated = cipherWith(KEY_B, [KEY_A]);
    expect(rotated.decrypt(sealed)).toBe('token');
    expect(rotated.needsRotation(sealed)).toBe(true);
    expect(rotated.needsRotation(rotated.encrypt('token'))).toBe(false);
    expect(() => cipherWith(KEY_B).decrypt(sealed)).toThrow(/key that is not configured/);
  });
});
