/**
 * A software WebAuthn authenticator for tests without a browser: a P-256 key pair from
 * node:crypto per credential, attestation `none`, CBOR encoded with the `isoCBOR` helper that
 * ships with @simplewebauthn/server. Every field an attacker controls can be bent: the origin
 * and RP ID it signs for, the user-verification flag, the counter, the challenge.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest();

/** One credential held by the authenticator. */
export interface SoftCredential {
  id: string;
  privateKey: KeyObject;
  /** The COSE key's coordinates. */
  x: Buffer;
  y: Buffer;
  rpId: string;
  /** The user handle given at registration (base64url). */
  userHandle: string;
  counter: number;
}

/** What an answer may be bent with (defaults: an honest authenticator on `origin`). */
export interface Bend {
  origin?: string;
  rpId?: string;
  /** Leave the user-verified flag off. */
  noUserVerification?: boolean;
  /** Sign with this counter instead of the next one. */
  counter?: number;
  /** Answer this challenge instead of the one in the options. */
  challenge?: string;
}

/** Options as the server sends them (only what the authenticator reads). */
export interface CreationOptions {
  challenge: string;
  rp: { id?: string };
  user: { id: string };
}
export interface RequestOptions {
  challenge: string;
  rpId?: string;
}

export type Json = Record<string, unknown>;

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];

  /** @param origin the page the "browser" is on, e.g. `http://localhost:3000` */
  constructor(readonly origin: string) {}

  /** `navigator.credentials.create`: a new discoverable credential, as `RegistrationResponseJSON`. */
  create(options: CreationOptions, bend: Bend = {}): Json {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const rpId = bend.rpId ?? options.rp.id ?? 'localhost';
    const cred: SoftCredential = {
      id: b64url(randomBytes(16)), privateKey, x: Buffer.from(jwk.x!, 'base64url'), y: Buffer.from(jwk.y!, 'base64url'),
      rpId, userHandle: options.user.id, counter: 0,
    };
    const cose = new Map<number, number | Uint8Array>([[1, 2], [3, -7], [-1, 1], [-2, cred.x], [-3, cred.y]]);
    const idBytes = Buffer.from(cred.id, 'base64url');
    const attested = Buffer.concat([Buffer.alloc(16), Buffer.from([idBytes.length >> 8, idBytes.length & 255]), idBytes, Buffer.from(isoCBOR.encode(cose))]);
    const authData = this.authData(rpId, 0x40, 0, bend, attested);
    const attestationObject = isoCBOR.encode(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]) as never);
    const clientDataJSON = this.clientData('webauthn.create', bend.challenge ?? options.challenge, bend);
    this.credentials.push(cred);
    return {
      id: cred.id, rawId: cred.id, type: 'public-key', authenticatorAttachment: 'platform', clientExtensionResults: {},
      response: { clientDataJSON: b64url(clientDataJSON), attestationObject: b64url(attestationObject), transports: ['internal'] },
    };
  }

  /** `navigator.credentials.get`: an assertion by `cred` (the first credential by default), as `AuthenticationResponseJSON`. */
  get(options: RequestOptions, bend: Bend = {}, cred: SoftCredential | undefined = this.credentials[0]): Json {
    if (cred === undefined) throw new Error('the authenticator holds no credential');
    const counter = bend.counter ?? (cred.counter += 1);
    const authData = this.authData(bend.rpId ?? options.rpId ?? cred.rpId, 0, counter, bend);
    const clientDataJSON = this.clientData('webauthn.get', bend.challenge ?? options.challenge, bend);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), cred.privateKey);
    return {
      id: cred.id, rawId: cred.id, type: 'public-key', authenticatorAttachment: 'platform', clientExtensionResults: {},
      response: { clientDataJSON: b64url(clientDataJSON), authenticatorData: b64url(authData), signature: b64url(signature), userHandle: cred.userHandle },
    };
  }

  private clientData(type: string, challenge: string, bend: Bend): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin: bend.origin ?? this.origin, crossOrigin: false }));
  }

  /** rpIdHash ‖ flags (UP, UV unless bent, plus `extraFlags`) ‖ counter ‖ attested data. */
  private authData(rpId: string, extraFlags: number, counter: number, bend: Bend, attested: Buffer = Buffer.alloc(0)): Buffer {
    const flags = 0x01 | (bend.noUserVerification ? 0 : 0x04) | extraFlags;
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter);
    return Buffer.concat([sha256(rpId), Buffer.from([flags]), count, attested]);
  }
}
