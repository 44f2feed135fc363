package main

import "testing"

func TestListenURL(t *testing.T) {
	tests := []struct{ listen, want string }{
		{"127.0.0.1:8780", "http://127.0.0.1:8780"},
		{":8780", "http://127.0.0.1:8780"},
		{"0.0.0.0:9000", "http://127.0.0.1:9000"},
		{"[::]:8780", "http://127.0.0.1:8780"},
		{"[::1]:8780", "http://[::1]:8780"},
		{"localhost:8780", "http://localhost:8780"},
		{"10.0.0.5:8780", "http://10.0.0.5:8780"},
	}
	for _, tt := range tests {
		if got := listenURL(tt.listen); got != tt.want {
			t.Errorf("listenURL(%q) = %q, want %q", tt.listen, got, tt.want)
		}
	}
}
