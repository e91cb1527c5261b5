import { createTheme, Modal, type CSSVariablesResolver } from '@mantine/core';

/**
 * Mantine's defaults with darker shades where text sits on a color or on white: shade 6 of indigo
 * and the gray-6 of dimmed text give less than the 4.5:1 contrast WCAG AA asks for (axe's
 * color-contrast rule).
 */
export const theme = createTheme({
  primaryColor: 'indigo',
  primaryShade: { light: 8, dark: 8 },
  autoContrast: true,
  components: {
    // Every dialog's close button is named for screen readers (axe: button-name).
    Modal: Modal.extend({ defaultProps: { closeButtonProps: { 'aria-label': 'Close dialog' } } }),
  },
});

export const cssVariables: CSSVariablesResolver = (t) => ({
  variables: {},
  light: { '--mantine-color-dimmed': t.colors.gray[7]!, '--mantine-color-placeholder': t.colors.gray[7]! },
  dark: {},
});
