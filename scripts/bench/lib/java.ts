/** Finds a JDK of at least a given major version: JAVA_HOME first, then /usr/lib/jvm/* (newest first). */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { outputOf } from './processes.ts';

export interface Java {
  home: string;
  version: string;
  major: number;
}

function probe(home: string): Java | undefined {
  const bin = join(home, 'bin', 'java');
  if (!existsSync(bin) || !existsSync(join(home, 'bin', 'javac'))) return undefined;
  const out = outputOf(bin, ['-XshowSettings:properties', '-version']);
  const version =
    /java\.runtime\.version = (\S+)/.exec(out)?.[1] ?? /java\.version = (\S+)/.exec(out)?.[1];
  if (!version) return undefined;
  return { home, version, major: Number(version.split(/[.+-]/)[0]) };
}

export function findJava(minMajor: number): Java | undefined {
  const candidates: string[] = [];
  if (process.env.JAVA_HOME) candidates.push(process.env.JAVA_HOME);
  if (existsSync('/usr/lib/jvm'))
    candidates.push(...readdirSync('/usr/lib/jvm').map((d) => join('/usr/lib/jvm', d)));
  const found = candidates.map(probe).filter((j): j is Java => !!j && j.major >= minMajor);
  if (process.env.JAVA_HOME && found[0]?.home === process.env.JAVA_HOME) return found[0];
  return found.sort((a, b) => b.major - a.major)[0];
}
