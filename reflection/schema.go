package reflection

import (
	"fmt"
	"reflect"
	"strings"
)

// Schema returns a JSON Schema (draft 2020-12 subset: type, properties,
// items, additionalProperties) for values of t as encoding/json renders
// them. Recursive types are cut at the second visit with an empty schema.
func Schema(t reflect.Type) map[string]any { return schema(t, map[reflect.Type]bool{}) }

func schema(t reflect.Type, seen map[reflect.Type]bool) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": schema(t.Elem(), seen)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schema(t.Elem(), seen)}
	case reflect.Struct:
		if seen[t] {
			return map[string]any{}
		}
		seen[t] = true
		defer delete(seen, t)
		props := map[string]any{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, ok := jsonName(f)
			if !ok {
				continue
			}
			props[name] = schema(f.Type, seen)
		}
		out := map[string]any{"type": "object", "properties": props}
		if t.Name() != "" {
			out["title"] = t.Name()
		}
		return out
	}
	return map[string]any{}
}

func jsonName(f reflect.StructField) (string, bool) {
	if !f.IsExported() {
		return "", false
	}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return "", false
	}
	if name, _, _ := strings.Cut(tag, ","); name != "" {
		return name, true
	}
	return f.Name, true
}

// goDecl renders a Go declaration of t's named struct type (one level), or
// the type's name for other types.
func goDecl(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return fmt.Sprintf("type %s %s", typeName(t), t.String())
	}
	var b strings.Builder
	fmt.Fprintf(&b, "type %s struct {\n", typeName(t))
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Tag != "" {
			fmt.Fprintf(&b, "\t%s %s `%s`\n", f.Name, f.Type.String(), f.Tag)
		} else {
			fmt.Fprintf(&b, "\t%s %s\n", f.Name, f.Type.String())
		}
	}
	b.WriteString("}")
	return b.String()
}
