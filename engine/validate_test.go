package engine

import "testing"

func TestSuggest(t *testing.T) {
	t.Parallel()
	plays := keysOf(playKeys)
	tests := []struct {
		word       string
		candidates []string
		want       string
	}{
		{"taks", plays, ` (did you mean "tasks"?)`},
		{"hots", plays, ` (did you mean "hosts"?)`},
		{"hsots", plays, ` (did you mean "hosts"?)`},
		{"becmoe", plays, ` (did you mean "become"?)`},
		{"tgas", plays, ` (did you mean "tags"?)`},
		{"whn", keysOf(taskKeys), ` (did you mean "when"?)`},
		{"regsiter", keysOf(taskKeys), ` (did you mean "register"?)`},
		{"dst", []string{"dest", "src", "content", "mode"}, ` (did you mean "dest"?)`},
		{"zzzzzz", plays, ""},
	}
	for _, tc := range tests {
		if got := suggest(tc.word, tc.candidates); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"abc", "abc", 0}, {"abc", "acb", 1},
		{"taks", "tasks", 1}, {"taks", "tags", 1}, {"kitten", "sitting", 3}, {"ca", "abc", 3},
	}
	for _, tc := range tests {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
