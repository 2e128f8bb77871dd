/**
 * One retry per test, with the first failure printed: on 2 vCPUs shared by FerretDB, Chromium,
 * sshd and Keyward, a rare stall of the test database can fail a request. A test that fails
 * twice fails the run.
 */
import { jest } from '@jest/globals';

jest.retryTimes(1, { logErrorsBeforeRetry: true });
