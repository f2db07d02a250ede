import { Global, Module } from '@nestjs/common';
import { TokenCipher } from './token-cipher';

/** Encryption of secrets at rest, shared by every module that stores one. */
@Global()
@Module({ providers: [TokenCipher], exports: [TokenCipher] })
export class CryptoModule {}
