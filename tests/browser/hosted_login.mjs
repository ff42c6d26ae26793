// The hosted pages in a real browser (issue 18; docs/oidc.md): headless Chromium, driven by
// Playwright, signs in with a password and a TOTP code, adds a passkey on the account page
// through Chrome's virtual authenticator (DevTools `WebAuthn.addVirtualAuthenticator`), signs
// out, signs in with the password and the passkey as the second factor, signs out, and signs
// in with the passkey alone. tests/e2e/browser.rs starts the service,
// registers the client and checks what this prints (one JSON line: the codes the client got)
// against the token endpoint.
//
// Environment: BASE (the service), AUTHORIZE_URLS (three authorization URLs, space-separated),
// EMAIL, PASSWORD, TOTP_SECRET (base32), REDIRECT (the client's redirect URI prefix),
// SCREENSHOTS (a directory), CHROMIUM (the browser; /usr/bin/chromium by default).
import { createHmac } from "node:crypto";
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
};

/** The RFC 6238 code of `secret` (base32) for the next 30-second step (the test confirmed
 * TOTP with the previous one, and each step's code works once). */
function totp(secret) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "").toUpperCase()) {
    bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000) + 1));
  const mac = createHmac("sha1", key).update(counter).digest();
  const at = mac[mac.length - 1] & 0xf;
  const number = (mac.readUInt32BE(at) & 0x7fffffff) % 1000000;
  return number.toString().padStart(6, "0");
}

const base = env("BASE");
const [firstUrl, secondUrl, thirdUrl] = env("AUTHORIZE_URLS").split(" ");
const redirect = env("REDIRECT");
const shots = env("SCREENSHOTS");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // The machine's network is closed: Chromium's background connections are turned off.
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const result = {};
try {
  // A phone-sized window: the pages are meant to work there.
  const context = await browser.newContext({ viewport: { width: 390, height: 780 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  const codeOf = async () => {
    await page.waitForURL(`${redirect}**`);
    return new URL(page.url()).searchParams.get("code");
  };

  const withPassword = async (url) => {
    await page.goto(url);
    await page.getByLabel("Email").fill(env("EMAIL"));
    await page.getByLabel("Password").fill(env("PASSWORD"));
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
  };
  const signOut = async () => {
    await page.goto(`${base}/oauth/logout`);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByText("You have signed out").waitFor();
  };

  // 1. Password, then the TOTP code.
  await page.goto(firstUrl);
  await page.getByLabel("Email").fill(env("EMAIL"));
  await page.screenshot({ path: `${shots}/sign-in.png`, fullPage: true });
  await withPassword(firstUrl);
  await page.getByLabel("Code from your authenticator app, or a recovery code").waitFor();
  await page.getByLabel("Code from your authenticator app, or a recovery code").fill(totp(env("TOTP_SECRET")));
  await page.getByRole("button", { name: "Verify" }).click();
  result.password_code = await codeOf();

  // 2. A passkey added on the account page, with the browser's sign-in.
  await page.goto(`${base}/oauth/account`);
  await page.getByLabel("Name for a new passkey").fill("Virtual authenticator");
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await page.waitForSelector("input[value='Virtual authenticator']");
  await page.screenshot({ path: `${shots}/account-passkeys.png`, fullPage: true });
  result.listed = await page.locator(".passkeys li").count();

  // 3. Signed out, then in again: the password, and the passkey as the second factor.
  await signOut();
  await withPassword(secondUrl);
  await page.getByRole("button", { name: "Use a passkey" }).waitFor();
  await page.screenshot({ path: `${shots}/second-factor.png`, fullPage: true });
  await page.getByRole("button", { name: "Use a passkey" }).click();
  result.second_factor_code = await codeOf();

  // 4. Signed out, then in again with the passkey alone.
  await signOut();
  await page.goto(thirdUrl);
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  result.passkey_code = await codeOf();
} catch (e) {
  // What the page showed when it went wrong, for the test's failure message.
  for (const open of browser.contexts().flatMap((c) => c.pages())) {
    console.error(`at ${open.url()}:\n${await open.locator("body").innerText().catch(() => "")}`);
    await open.screenshot({ path: `${shots}/failure.png`, fullPage: true }).catch(() => {});
  }
  throw e;
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
