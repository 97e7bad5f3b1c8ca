/**
 * Categories: a list with product counts (one grouped query), and creation straight through the
 * database's unique constraint (a taken slug is an IntegrityError, answered 409), where products
 * validate first (`$fullClean()`, a 400).
 */
import { Router } from 'express';
import { Count } from '@spool/orm';
import { BadRequest } from '../http-errors';
import { Category } from '../models';
import { categoryJson } from '../serializers';

export const categories = Router();

/** GET /categories — each with its number of products. */
categories.get('/', async (_req, res) => {
  const rows = await Category.objects.annotate({ products: Count('products') }).orderBy('name');
  res.json(rows.map((c) => ({ ...categoryJson(c), products: c.products })));
});

/** POST /categories { slug, name } */
categories.post('/', async (req, res) => {
  const { slug, name } = (req.body ?? {}) as { slug?: unknown; name?: unknown };
  if (typeof slug !== 'string' || !/^[a-z0-9-]{1,50}$/.test(slug)) throw new BadRequest('slug: lowercase letters, digits and dashes.');
  if (typeof name !== 'string' || name === '') throw new BadRequest('name is required.');
  const category = await Category.objects.create({ slug, name });
  res.status(201).json(categoryJson(category));
});
