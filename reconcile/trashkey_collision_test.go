package reconcile

import "testing"

// The templates ParseKeyTemplate refuses for want of a delimiter next to
// {id} do render one trash key for two rows (or two lives of one row), and
// the fix it suggests does not.
func TestUndelimitedTemplatesCollide(t *testing.T) {
	t.Parallel()
	type render struct {
		id          int64
		life        int
		bucket, key string
	}
	for _, tc := range []struct {
		tmpl string
		a, b render
	}{
		{"{id}{key}", render{1, 0, "lms", "01/x.txt"}, render{10, 0, "lms", "1/x.txt"}},
		{"{id}.{key}", render{42, 1, "lms", "x"}, render{42, 0, "lms", "1.x"}},
		{"{bucket}{id}/{key}", render{2, 0, "lms1", "x"}, render{12, 0, "lms", "x"}},
		{"{key}{id}", render{2, 0, "lms", "x1"}, render{12, 0, "lms", "x"}},
		{"{key}-{id}", render{-1, 0, "lms", "x"}, render{1, 0, "lms", "x-"}},
	} {
		refused := KeyTemplate{raw: tc.tmpl}
		a := refused.RenderLife(tc.a.id, tc.a.life, tc.a.bucket, tc.a.key)
		b := refused.RenderLife(tc.b.id, tc.b.life, tc.b.bucket, tc.b.key)
		if a != b {
			t.Errorf("under %q, %+v renders %q and %+v %q: the case does not show the collision", tc.tmpl, tc.a, a, tc.b, b)
		}
		if _, err := ParseKeyTemplate(tc.tmpl); err == nil {
			t.Errorf("ParseKeyTemplate(%q) accepts a template under which %+v and %+v share the trash key %q", tc.tmpl, tc.a, tc.b, a)
		}
		fix, err := ParseKeyTemplate(delimitedExample(tc.tmpl))
		if err != nil {
			t.Fatalf("the suggested fix of %q is refused: %v", tc.tmpl, err)
		}
		if fa, fb := fix.RenderLife(tc.a.id, tc.a.life, tc.a.bucket, tc.a.key), fix.RenderLife(tc.b.id, tc.b.life, tc.b.bucket, tc.b.key); fa == fb {
			t.Errorf("under the suggested fix %q, %+v and %+v still share %q", fix, tc.a, tc.b, fa)
		}
	}
}
