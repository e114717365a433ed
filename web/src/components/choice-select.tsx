export interface Choice {
  value: string;
  label: string;
}

/** A labelled <select> over a fixed list of choices. */
export function ChoiceSelect({ id, label, value, choices, onChange }: { id: string; label: string; value: string; choices: readonly Choice[]; onChange: (value: string) => void }) {
  return (
    <>
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(event) => onChange(event.currentTarget.value)}>
        {choices.map((choice) => (
          <option key={choice.value} value={choice.value}>
            {choice.label}
          </option>
        ))}
      </select>
    </>
  );
}
