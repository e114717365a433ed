import { useEffect, useState } from 'preact/hooks';

/** `system` follows `prefers-color-scheme`; the choice is kept in this browser. */
export type ThemeChoice = 'system' | 'light' | 'dark';

const STORAGE_KEY = 'portcullis-theme';
const darkQuery = matchMedia('(prefers-color-scheme: dark)');

function storedChoice(): ThemeChoice {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return value === 'light' || value === 'dark' ? value : 'system';
  } catch {
    return 'system';
  }
}

function resolve(choice: ThemeChoice): 'light' | 'dark' {
  return choice === 'system' ? (darkQuery.matches ? 'dark' : 'light') : choice;
}

let choice = storedChoice();
const listeners = new Set<() => void>();

/** Sets `data-theme` on <html>, which the stylesheet's colour variables follow. */
function apply(): void {
  document.documentElement.dataset.theme = resolve(choice);
}

// At load, before the first render, and whenever the system's preference changes.
apply();
darkQuery.addEventListener('change', apply);

/** The theme in force, the operator's choice, and a setter that keeps it in this browser. */
export function useTheme(): { theme: 'light' | 'dark'; choice: ThemeChoice; choose: (choice: ThemeChoice) => void } {
  const [, rerender] = useState(0);
  useEffect(() => {
    const listener = () => rerender((count) => count + 1);
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }, []);
  return {
    theme: resolve(choice),
    choice,
    choose(next) {
      try {
        if (next === 'system') localStorage.removeItem(STORAGE_KEY);
        else localStorage.setItem(STORAGE_KEY, next);
      } catch {
        // Storage may be off (private windows): the choice then lasts for this page only.
      }
      choice = next;
      apply();
      for (const listener of listeners) listener();
    },
  };
}

/** The theme in force, re-read when it changes: charts take their colours from the stylesheet's variables. */
export function useThemeName(): string {
  const [name, setName] = useState(() => document.documentElement.dataset.theme ?? 'light');
  useEffect(() => {
    const observer = new MutationObserver(() => setName(document.documentElement.dataset.theme ?? 'light'));
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    return () => observer.disconnect();
  }, []);
  return name;
}

/** A colour variable of the stylesheet (`--allowed`), as the canvas needs it. */
export function cssColour(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}
