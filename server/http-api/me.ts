/** The REST API's `me`: the user's own document (the one DDP publishes) with its `_id`. */
import type { Services } from '../services/services.js';
import { ownUserDocument, type OwnUserDocument } from '../accounts/own-user.js';

export type MeDocument = { _id: string } & OwnUserDocument;

/** The `me` of `/api/v1/login` and `/api/v1/me`, or null when the user is gone. */
export async function meDocument(services: Services, userId: string): Promise<MeDocument | null> {
  const doc = await ownUserDocument(services, userId);
  return doc === null ? null : { _id: userId, ...doc };
}
