/**
 * `POST /api/v1/login`: the body becomes the argument of the `login` method, which runs through
 * the dispatcher exactly as over DDP; the answer is Rocket.Chat's
 * `{status:'success', data:{userId, authToken, me}, success:true}`.
 */
import type { IncomingMessage } from 'node:http';
import { METHOD_ERRORS } from '../../protocol/errors.js';
import { isRecord } from '../../protocol/validate.js';
import { sendJson } from '../transport/http-routes.js';
import type { HttpApi } from './context.js';
import type { HttpCaller } from './http-caller.js';
import { HttpRequestError } from './body.js';
import { meDocument } from './me.js';
import { failureStatus, sendUnauthorized } from './replies.js';

/** The keys of Rocket.Chat's REST login body; a body with any other key is Meteor's own. */
const REST_LOGIN_KEYS: readonly string[] = ['user', 'username', 'email', 'password', 'code'];

/**
 * The `login` argument for a request body, as Rocket.Chat's `loginCompatibility` builds it:
 * `{user|username|email, password, code?}` (Meteor's `{user: {username}, password: {digest,
 * algorithm}}` is one of these) becomes `{user, password}`, wrapped as `{totp: {login, code}}`
 * when a code comes in the body or in `x-2fa-code`. Any other body (`{resume}`, the `totp`
 * wrapper) is Meteor's own login argument and goes to `login` unchanged, which checks it.
 */
function loginArgument(body: Record<string, unknown>, caller: HttpCaller, req: IncomingMessage): unknown {
  // A passwordless sign-in: `{passkey: <assertion>}` is login's `{passkey: {response}}` (which passes as is).
  if (Object.keys(body).length === 1 && isRecord(body.passkey) && Object.keys(body.passkey).some((key) => key !== 'response')) {
    return { passkey: { response: body.passkey } };
  }
  if (Object.keys(body).some((key) => !REST_LOGIN_KEYS.includes(key))) return body;
  const user = typeof body.user === 'string' || isRecord(body.user) ? body.user
    : typeof body.username === 'string' ? { username: body.username }
      : typeof body.email === 'string' ? { email: body.email } : undefined;
  if (user === undefined || (typeof body.password !== 'string' && !isRecord(body.password))) {
    throw new HttpRequestError(400, 'Give user (or username or email) and password');
  }
  if (body.code !== undefined && typeof body.code !== 'string') throw new HttpRequestError(400, '"code" must be a string');
  const login = { user, password: body.password };
  const code = typeof body.code === 'string' && body.code !== '' ? body.code : caller.transportTwoFactor?.twoFactorCode;
  if (code === undefined) return login;
  // `x-2fa-method` counts with a code from the body too, so a client can pick another factor.
  const methodHeader = req.headers['x-2fa-method'];
  const method = caller.transportTwoFactor?.twoFactorMethod || (typeof methodHeader === 'string' ? methodHeader : undefined);
  return { totp: { login, code, ...(method ? { method } : {}) } };
}

export function installLoginRoute(api: HttpApi): void {
  api.route('POST', '/api/v1/login', async (req, res) => {
    const body = await api.body(req);
    const caller = api.caller(req);
    const argument = loginArgument(body, caller, req);
    let result: { id: string; token: string };
    try {
      result = (await api.invoke(caller, 'login', [argument])) as { id: string; token: string };
    } catch (err) {
      const w = api.wire(err, { route: 'login' });
      // A wrong password and an unknown user: one answer, as Rocket.Chat's for an unknown user.
      const fields = w.error === METHOD_ERRORS.loginFailed.error && w.reason === METHOD_ERRORS.loginFailed.reason
        ? { error: 'Unauthorized', message: 'Unauthorized' }
        : { error: w.error, message: w.reason, details: w.details };
      sendJson(res, failureStatus(w, 'login'), { success: false, status: 'error', ...fields });
      return;
    }
    const me = await meDocument(await api.container.get(), result.id);
    if (me === null) {
      sendUnauthorized(res); // the user was removed while logging in
      return;
    }
    sendJson(res, 200, { status: 'success', data: { userId: result.id, authToken: result.token, me }, success: true });
  });
}
