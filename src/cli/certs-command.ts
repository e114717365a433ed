import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { createCertificateAuthority, issueClientCertificate, issueServerCertificate } from '../certs/dev-certificates.ts';
import { readCertificateFingerprint } from './certificate-file.ts';
import { collect, printJsonObject, UsageError } from './cli-support.ts';

const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function parseDays(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const days = Number(value);
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new UsageError(`--days: expected a whole number of days from 1 to 3650, found ${JSON.stringify(value)}`);
  return days;
}

/** Writes a file; private keys are readable by their owner only. */
function writePem(path: string, text: string, secret: boolean): void {
  writeFileSync(path, text, { mode: secret ? 0o600 : 0o644 });
}

/**
 * Refuses to replace certificate files without --force: a client certificate's key may be
 * bound to a key (`keys create --cert`), and a replaced one would break that binding.
 */
function refuseOverwrite(paths: readonly string[], force: boolean | undefined, consequence: string): void {
  if (force === true) return;
  const existing = paths.filter((path) => existsSync(path));
  if (existing.length > 0) throw new Error(`${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''}: nothing was written. ${consequence}`);
}

function readCa(directory: string): { cert: string; key: string } {
  const certPath = join(directory, 'ca.crt');
  const keyPath = join(directory, 'ca.key');
  if (!existsSync(certPath) || !existsSync(keyPath)) throw new UsageError(`No CA in ${directory} (ca.crt and ca.key). Create one first: portcullis certs init --dir ${directory}`);
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
}

/** `portcullis certs init|client|fingerprint`: development certificates, made offline. */
export function certsCommand(): Command {
  const certs = new Command('certs');
  certsInitCommand(certs);
  certsClientCommand(certs);
  certsFingerprintCommand(certs);
  return certs;
}

function certsInitCommand(certs: Command): Command {
  return certs
    .command('init')
    .description('create a local CA and a server certificate in --dir (default ./certs)')
    .option('--dir <dir>', 'folder for the files', './certs')
    .option('--name <name>', 'host name or IP address for the server certificate (repeatable; default localhost, 127.0.0.1, ::1)', collect)
    .option('--days <n>', 'validity of the server certificate in days (default 825)')
    .option('--force', 'replace existing files: the server certificate, and the CA (every certificate it signed stops being trusted)')
    .option('--json', 'print the files written as one JSON object')
    .action(async (options: { dir: string; name?: string[]; days?: string; force?: boolean; json?: boolean }) => {
      const directory = resolve(options.dir);
      const days = parseDays(options.days, 825);
      const names = options.name ?? ['localhost', '127.0.0.1', '::1'];
      for (const name of names) if (!/^[A-Za-z0-9.:-]{1,253}$/.test(name)) throw new UsageError(`--name: expected a host name or IP address, found ${JSON.stringify(name.slice(0, 60))}`);
      const serverFiles = [join(directory, 'server.crt'), join(directory, 'server.key')];
      refuseOverwrite(serverFiles, options.force, 'To renew the server certificate, remove both (or give --force, which makes a new CA too: every certificate it signed stops being trusted).');
      mkdirSync(directory, { recursive: true, mode: 0o700 });
      let ca: { cert: string; key: string };
      const reuseCa = existsSync(join(directory, 'ca.key')) && options.force !== true;
      const say = (line: string) => {
        if (!options.json) process.stdout.write(line);
      };
      if (reuseCa) {
        ca = readCa(directory);
        say(`Using the existing CA in ${directory} (--force makes a new one).\n`);
      } else {
        ca = await createCertificateAuthority();
        writePem(join(directory, 'ca.crt'), ca.cert, false);
        writePem(join(directory, 'ca.key'), ca.key, true);
        say(`Created a CA: ${join(directory, 'ca.crt')} (key: ca.key, keep it private)\n`);
      }
      const server = await issueServerCertificate(ca, names, { days });
      writePem(serverFiles[0] as string, server.cert, false);
      writePem(serverFiles[1] as string, server.key, true);
      if (options.json) {
        printJsonObject({ dir: directory, ca: { cert: join(directory, 'ca.crt'), key: join(directory, 'ca.key'), created: !reuseCa }, server: { cert: serverFiles[0], key: serverFiles[1], names, fingerprint: server.fingerprint } });
        return;
      }
      say(
        `Created a server certificate for ${names.join(', ')}: ${join(directory, 'server.crt')} (key: server.key)\n\n` +
          `Serve TLS with:   portcullis serve --tls-cert ${join(options.dir, 'server.crt')} --tls-key ${join(options.dir, 'server.key')}\n` +
          `Trust it with:    curl --cacert ${join(options.dir, 'ca.crt')} https://localhost:8080/\n` +
          `Client certs:     portcullis certs client NAME --dir ${options.dir}  (and --tls-client-ca ${join(options.dir, 'ca.crt')} on serve)\n`,
      );
    });
}

function certsClientCommand(certs: Command): Command {
  return certs
    .command('client')
    .description('create a client certificate signed by the CA in --dir, for mutual TLS')
    .argument('<name>', 'the client instance, such as web-1 (the certificate subject CN)')
    .option('--dir <dir>', 'folder of the CA', './certs')
    .option('--days <n>', 'validity in days (default 825)')
    .option('--force', 'replace an existing certificate of this name (a key bound to the old one stops working with the new one)')
    .option('--json', 'print one JSON object with the file paths and the fingerprint')
    .action(async (name: string, options: { dir: string; days?: string; force?: boolean; json?: boolean }) => {
      if (!CLIENT_NAME.test(name)) throw new UsageError(`NAME: expected letters, digits and _ . - (up to 64), found ${JSON.stringify(name.slice(0, 40))}`);
      const directory = resolve(options.dir);
      const ca = readCa(directory);
      const days = parseDays(options.days, 825);
      const folder = join(directory, 'clients');
      const certPath = join(folder, `${name}.crt`);
      const keyPath = join(folder, `${name}.key`);
      refuseOverwrite(
        [certPath, keyPath],
        options.force,
        `Keys bound to this certificate (keys create --cert) would stop working with a new one: choose another NAME, or give --force to replace it (then bind the keys again, or rotate them).`,
      );
      const client = await issueClientCertificate(ca, name, { days });
      mkdirSync(folder, { recursive: true, mode: 0o700 });
      writePem(certPath, client.cert, false);
      writePem(keyPath, client.key, true);
      if (options.json) printJsonObject({ name, cert: certPath, key: keyPath, fingerprint: client.fingerprint });
      else
        process.stdout.write(
          `Created a client certificate for "${name}": ${certPath} (key: ${keyPath})\n` +
            `SHA-256 fingerprint: ${client.fingerprint}\n\n` +
            `Bind a key to it:  portcullis keys create --name ${name} --cert ${certPath}\n` +
            `Call with it:      curl --cacert ${join(options.dir, 'ca.crt')} --cert ${certPath} --key ${keyPath} -H "Authorization: Bearer <key>" https://localhost:8080/\n`,
        );
    });
}

function certsFingerprintCommand(certs: Command): Command {
  return certs
    .command('fingerprint')
    .description('print the SHA-256 fingerprint of a PEM certificate (what --cert-fingerprint takes)')
    .argument('<file>', 'PEM certificate')
    .option('--json', 'print one JSON object with the file and its fingerprint')
    .action(async (file: string, options: { json?: boolean }) => {
      const fingerprint = await readCertificateFingerprint(file, 'FILE');
      if (options.json) printJsonObject({ file: resolve(file), fingerprint });
      else process.stdout.write(`${fingerprint}\n`);
    });
}
