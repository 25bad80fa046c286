import { expect } from 'chai';
import { escapeHtml, resetPasswordMail, twoFactorCodeMail, verifyEmailMail } from '../../server/mail/templates.js';

describe('mail/templates', () => {
  const evil = `<script>alert("x")</script>&'`;

  it('escapes HTML special characters', () => {
    expect(escapeHtml(evil)).to.equal('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
  });

  it('2FA code mail: code in subject and both bodies, user values escaped in HTML', () => {
    const m = twoFactorCodeMail({ code: '123456', expiresInMinutes: 1, username: evil });
    expect(m.subject).to.include('123456');
    expect(m.text).to.include('123456').and.include('1 minute ').and.include(evil);
    expect(m.html).to.include('123456').and.include(escapeHtml(evil)).and.not.include('<script>');
  });

  it('verify-email mail: links only http(s) URLs, escapes them', () => {
    const link = verifyEmailMail({ username: 'ann', url: 'https://chat.example.test/verify?t=a&b="c"' });
    expect(link.text).to.include('https://chat.example.test/verify?t=a&b="c"');
    expect(link.html).to.include('<a href="https://chat.example.test/verify?t=a&amp;b=&quot;c&quot;">');
    const js = verifyEmailMail({ username: 'ann', url: 'javascript:alert(1)' });
    expect(js.html).to.not.include('<a ');
    const token = verifyEmailMail({ username: evil, token: 'tok<1>' });
    expect(token.text).to.include('tok<1>');
    expect(token.html).to.include('<code>tok&lt;1&gt;</code>').and.not.include('<script>');
  });

  it('reset-password mail carries the token and lifetime', () => {
    const m = resetPasswordMail({ token: 'r3set', username: 'ann', expiresInMinutes: 30 });
    expect(m.subject).to.equal('Reset your password');
    expect(m.text).to.include('r3set').and.include('30 minutes');
    expect(m.html).to.include('<code>r3set</code>');
  });

  it('reset-password mail with a public URL carries the link (escaped in HTML), not a bare token to paste', () => {
    const m = resetPasswordMail({ token: 'r3set', username: 'ann', expiresInMinutes: 30, url: 'https://chat.example/account/#/reset-password/r3set&x' });
    expect(m.text).to.include('https://chat.example/account/#/reset-password/r3set&x').and.include('30 minutes');
    expect(m.html).to.include('<a href="https://chat.example/account/#/reset-password/r3set&amp;x">').and.not.include('<code>');
    const odd = resetPasswordMail({ token: 't', username: 'ann', expiresInMinutes: 30, url: 'javascript:alert(1)' });
    expect(odd.html).to.not.include('<a ');
  });
});
