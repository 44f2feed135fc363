package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/groupcast/groupcast/tracking"
)

func reportCmd(g *globals) *cobra.Command {
	var f clientFlags
	var asCSV bool
	cmd := &cobra.Command{
		Use:   "report ID",
		Short: "Show an announcement's deliveries and clicks (GET /v1/messages/{id}/report)",
		Long: `Show how an announcement did: the groups it reached, the counted clicks on
its tracked links (tracking.base_url) and the click rate, in total, per A/B
variant, per platform and per target. clicks counts people's clicks (a
client's repeats on the same link within 10 minutes once; HEAD, previews,
prefetches and crawlers not at all); click_rate is clicks / delivered groups.
Open rates are not shown: group robots cannot see who read a message.
--csv prints one row per target. The report of a series adds up its parts,
with a row per part and target (PART; in the CSV the id column is the
part's).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := f.client(g)
			if err != nil {
				return err
			}
			rep, err := d.Report(cmd.Context(), args[0])
			if err != nil {
				return clientErr(err)
			}
			switch {
			case f.asJSON:
				return printJSON(g.stdout, rep)
			case asCSV:
				return writeReportCSV(g.stdout, rep)
			}
			return printReport(g.stdout, rep)
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&asCSV, "csv", false, "print one CSV row per target")
	return cmd
}

func percent(r float64) string { return strconv.FormatFloat(100*r, 'f', 1, 64) + "%" }

func printReport(w io.Writer, r tracking.Report) error {
	fmt.Fprintf(w, "%s  %s\n", r.ID, r.Title)
	if !r.Tracked {
		fmt.Fprintln(w, "links were not tracked (tracking.base_url was not set when it was accepted): no clicks to count")
	}
	fmt.Fprintf(w, "delivered %d  clicks %d  click rate %s (clicks per delivered group)\n\n", r.Delivered, r.Clicks, percent(r.ClickRate))
	figures := func(title string, fs []tracking.Figures) error {
		if len(fs) == 0 {
			return nil
		}
		var tb table
		tb.row(title, "TARGETS", "DELIVERED", "CLICKS", "CLICK RATE")
		for _, f := range fs {
			tb.row(f.Name, strconv.Itoa(f.Targets), strconv.Itoa(f.Delivered), strconv.FormatUint(f.Clicks, 10), percent(f.ClickRate))
		}
		if err := tb.write(w); err != nil {
			return err
		}
		_, err := fmt.Fprintln(w)
		return err
	}
	if err := figures("VARIANT", r.ByVariant); err != nil {
		return err
	}
	if err := figures("PLATFORM", r.ByPlatform); err != nil {
		return err
	}
	var tb table
	series := slices.ContainsFunc(r.ByTarget, func(t tracking.Target) bool { return t.Part != "" })
	head := []string{"ROUTE", "PLATFORM", "ACCOUNT", "GROUP", "VARIANT", "STATE", "CLICKS"}
	if series {
		head = append([]string{"PART"}, head...)
	}
	tb.row(head...)
	for _, t := range r.ByTarget {
		row := []string{t.Route, t.Platform, t.Account, t.Group, t.Variant, string(t.State), strconv.FormatUint(t.Clicks, 10)}
		if series {
			row = append([]string{t.Part}, row...)
		}
		tb.row(row...)
	}
	return tb.write(w)
}

func writeReportCSV(w io.Writer, r tracking.Report) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "route", "platform", "account", "group", "variant", "state", "delivered", "clicks"})
	for _, t := range r.ByTarget {
		id := r.ID
		if t.Part != "" {
			id = t.Part // a series: the row's part
		}
		_ = cw.Write([]string{id, t.Route, t.Platform, t.Account, t.Group, t.Variant, string(t.State),
			strconv.Itoa(t.Delivered), strconv.FormatUint(t.Clicks, 10)})
	}
	cw.Flush()
	return cw.Error()
}
