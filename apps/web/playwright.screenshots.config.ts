import { defineConfig } from '@playwright/test';
import base from './playwright.config';

/** `npm run screenshots`: the console's main pages against the real stack, saved under docs/console/. */
export default defineConfig({ ...base, testMatch: 'screenshots.shot.ts' });
