import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app.config';

export class TokenDecryptionError extends Error {
  constructor(reason: string) {
    super(`Stored token cannot be decrypted: ${reason}`);
    this.name = 'TokenDecryptionError';
  }
}

interface Key {
  id: string;
  key: Buffer;
}

const VERSION = 'v1';

/** Derives the AES-256 key and its public id from a configured secret. */
function deriveKey(secret: string): Key {
  const key = Buffer.from(
    hkdfSync('sha256', secret, 'flowdock-github-bridge', 'token-encryption/v1', 32),
  );
  const id = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return { id, key };
}

/**
 * Encrypts secrets at rest (GitHub tokens, Flowdock flow tokens) with
 * AES-256-GCM under TOKEN_ENCRYPTION_KEY. Each ciphertext names the id of its
 * key, so the key can be rotated: set the new key as TOKEN_ENCRYPTION_KEY and
 * the old one in TOKEN_DECRYPTION_KEYS; old ciphertexts still decrypt, and
 * needsRotation() tells which to re-encrypt.
 *
 * Format: `v1.<key id>.<iv>.<ciphertext>.<tag>` (base64url parts).
 */
@Injectable()
export class TokenCipher {
  private readonly current: Key;
  private readonly keys: Map<string, Key>;

  constructor(config: ConfigService<AppConfig, true>) {
    this.current = deriveKey(config.get('tokenEncryptionKey', { infer: true }));
    const all = [
      this.current,
      ...config.get('tokenDecryptionKeys', { infer: true }).map(deriveKey),
    ];
    this.keys = new Map(all.map((k) => [k.id, k]));
  }

  encrypt(plaintext: string, context = ''): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(Buffer.from(context));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const parts = [iv, data, cipher.getAuthTag()].map((b) => b.toString('base64url'));
    return [VERSION, this.current.id, ...parts].join('.');
  }

  /**
   * The plaintext, or TokenDecryptionError when the value is malformed,
   * tampered with, bound to another context, or under an unknown key.
   * `context` must equal the one given to encrypt() (e.g. the owning row's id),
   * so a ciphertext copied to another row does not decrypt.
   */
  decrypt(ciphertext: string, context = ''): string {
    const parts = ciphertext.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new TokenDecryptionError('malformed');
    const key = this.keys.get(parts[1]);
    if (!key) throw new TokenDecryptionError('encrypted under a key that is not configured');
    const [iv, data, tag] = parts.slice(2).map((p) => Buffer.from(p, 'base64url'));
    if (iv.length !== 12 || tag.length !== 16) throw new TokenDecryptionError('malformed');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.key, iv);
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
    } catch {
      throw new TokenDecryptionError('authentication failed');
    }
  }

  /** True when the value is under an older key and should be re-encrypted. */
  needsRotation(ciphertext: string): boolean {
    return ciphertext.split('.')[1] !== this.current.id;
  }
}
