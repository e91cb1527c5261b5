import { Table, Text } from '@mantine/core';
import { flexRender, getCoreRowModel, useReactTable, type ColumnDef } from '@tanstack/react-table';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, type ReactNode } from 'react';
import type { Paged } from '../usePaged';
import { QueryState } from './QueryState';

/**
 * A long server-paged list: @tanstack/react-table for the columns, @tanstack/react-virtual so only
 * the rows in view are in the DOM, and the next page is fetched when the reader nears the end.
 */
export function VirtualTable<N>(props: {
  label: string;
  paged: Paged<N>;
  columns: ColumnDef<N, unknown>[];
  rowKey: (row: N) => string;
  emptyText: string;
  height?: number;
  rowHeight?: number;
  onRowClick?: (row: N) => void;
}): ReactNode {
  const { paged, columns } = props;
  const rowHeight = props.rowHeight ?? 44;
  const table = useReactTable({ data: paged.rows, columns, getCoreRowModel: getCoreRowModel(), getRowId: props.rowKey });
  const scrollRef = useRef<HTMLDivElement>(null);
  const rows = table.getRowModel().rows;
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => rowHeight,
    overscan: 10,
  });
  const items = virtualizer.getVirtualItems();
  const last = items[items.length - 1];
  useEffect(() => {
    if (last && last.index >= rows.length - 20 && paged.hasMore && !paged.fetching) paged.loadMore();
  }, [last, rows.length, paged]);

  if (paged.error || (paged.rows.length === 0 && (paged.fetching || paged.totalCount !== null)))
    return <QueryState fetching={paged.fetching} error={paged.error} empty={paged.rows.length === 0} emptyText={props.emptyText} />;
  if (paged.totalCount === null) return <QueryState fetching empty />;
  const padTop = items[0]?.start ?? 0;
  const padBottom = virtualizer.getTotalSize() - (last?.end ?? 0);
  return (
    <div>
      <Text size="sm" c="dimmed" mb={4} aria-live="polite">
        {paged.rows.length.toLocaleString()} of {paged.totalCount.toLocaleString()} shown
      </Text>
      <div
        ref={scrollRef}
        style={{ height: props.height ?? 520, overflow: 'auto' }}
        tabIndex={0}
        role="region"
        aria-label={`${props.label} (scrollable)`}
        data-testid={`table-${props.label}`}
      >
        <Table stickyHeader highlightOnHover aria-label={props.label} aria-rowcount={paged.totalCount + 1}>
          <Table.Thead>
            {table.getHeaderGroups().map((hg) => (
              <Table.Tr key={hg.id}>
                {hg.headers.map((h) => (
                  <Table.Th key={h.id}>{flexRender(h.column.columnDef.header, h.getContext())}</Table.Th>
                ))}
              </Table.Tr>
            ))}
          </Table.Thead>
          <Table.Tbody>
            {padTop > 0 && (
              <tr aria-hidden>
                <td style={{ height: padTop, padding: 0, border: 0 }} colSpan={columns.length} />
              </tr>
            )}
            {items.map((vi) => {
              const row = rows[vi.index]!;
              return (
                <Table.Tr
                  key={row.id}
                  style={{ height: rowHeight, cursor: props.onRowClick ? 'pointer' : undefined }}
                  aria-rowindex={vi.index + 2}
                  onClick={props.onRowClick ? () => props.onRowClick!(row.original) : undefined}
                >
                  {row.getVisibleCells().map((c) => (
                    <Table.Td key={c.id}>{flexRender(c.column.columnDef.cell, c.getContext())}</Table.Td>
                  ))}
                </Table.Tr>
              );
            })}
            {padBottom > 0 && (
              <tr aria-hidden>
                <td style={{ height: padBottom, padding: 0, border: 0 }} colSpan={columns.length} />
              </tr>
            )}
          </Table.Tbody>
        </Table>
        {paged.fetching && (
          <Text size="sm" c="dimmed" p="xs">
            Loading more…
          </Text>
        )}
      </div>
    </div>
  );
}
