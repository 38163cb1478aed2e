// template.go: the page's html/template, embedded from page.html. html/template
// escapes every value by its context, so child names and errors can hold
// markup safely.

package status

import (
	_ "embed"
	"html/template"
)

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))
